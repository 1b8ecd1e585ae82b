"""create_cache_provider: storage.cache.blobdescriptor (and the redis section) to a provider."""

from __future__ import annotations

import pytest

from cargohold.config.model import RedisConfig
from cargohold.metrics import Metrics
from cargohold.storage.cache.factory import create_cache_provider
from cargohold.storage.cache.inmemory import InMemoryBlobDescriptorCache
from cargohold.storage.cache.redis import RedisBlobDescriptorCache
from cargohold.storage.cache.redispool import BoundedConnectionPool


@pytest.mark.parametrize("kind", [None, ""])
def test_no_kind_means_no_cache(kind: str | None) -> None:
    assert create_cache_provider(kind) is None


def test_inmemory_counts_into_the_given_metrics() -> None:
    metrics = Metrics()
    provider = create_cache_provider("inmemory", 10, metrics=metrics)
    assert isinstance(provider, InMemoryBlobDescriptorCache)
    provider.stats.request()
    assert metrics.cache.total("requests", cache="inmemory") == 1


async def test_redis_is_built_from_the_section_without_connecting() -> None:
    config = RedisConfig.model_validate(
        {"addr": "127.0.0.1:1", "pool": {"maxactive": 5, "maxidle": 2, "idletimeout": "10s"}}
    )
    provider = create_cache_provider("redis", 10, redis=config, metrics=Metrics())
    assert isinstance(provider, RedisBlobDescriptorCache)
    pool = provider.client.connection_pool
    assert isinstance(pool, BoundedConnectionPool)
    assert (pool.max_connections, pool.max_idle, pool.idle_timeout) == (5, 2, 10.0)
    assert (pool.in_use, pool.idle) == (0, 0)
    assert provider.deadline == 15.0  # dial + write + read, 5 s each by default
    await provider.aclose()


def test_redis_needs_its_section() -> None:
    with pytest.raises(ValueError, match="no redis section"):
        create_cache_provider("redis", 10)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown blob descriptor cache 'memcached'"):
        create_cache_provider("memcached", 10)
