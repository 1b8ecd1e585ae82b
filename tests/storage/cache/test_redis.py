"""The Redis provider against the shared suite on a real redis-server, plus Redis specifics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, SSLConnection

from cargohold.config.model import RedisConfig
from cargohold.errors import BlobUnknown
from cargohold.metrics import Metrics
from cargohold.storage.cache.base import BlobDescriptorCacheProvider, CacheError
from cargohold.storage.cache.breaker import BreakerState
from cargohold.storage.cache.redis import (
    RedisBlobDescriptorCache,
    blob_key,
    repository_blob_key,
    repository_set_key,
)
from cargohold.storage.cache.redispool import BoundedConnectionPool, RedisSettings, create_client
from cargohold.testing.cache_suite import LAYER, BlobDescriptorCacheSuite, descriptor
from cargohold.testing.redis_server import RedisServer


def settings(server: RedisServer, **overrides: Any) -> RedisSettings:
    return RedisSettings(host="127.0.0.1", port=server.port, **overrides)


class TestRedisCache(BlobDescriptorCacheSuite):
    @pytest.fixture
    async def provider(
        self, redis_server: RedisServer, side: Redis
    ) -> AsyncIterator[BlobDescriptorCacheProvider]:
        cache = RedisBlobDescriptorCache.from_config(settings(redis_server))
        yield cache
        await cache.aclose()


@pytest.fixture
async def cache(redis_server: RedisServer, side: Redis) -> AsyncIterator[RedisBlobDescriptorCache]:
    provider = RedisBlobDescriptorCache.from_config(settings(redis_server))
    yield provider
    await provider.aclose()


async def test_keys_follow_distributions_schema(
    cache: RedisBlobDescriptorCache, side: Redis
) -> None:
    d = descriptor("schema")
    await cache.repository_scoped("foo/bar").set_descriptor(d.digest, d)
    digest = str(d.digest).encode()
    assert await side.hgetall(f"blobs::{d.digest}") == {
        b"digest": digest,
        b"size": str(d.size).encode(),
        b"mediatype": LAYER.encode(),
    }
    assert await side.smembers("repository::foo/bar::blobs") == {digest}
    assert await side.hgetall(f"repository::foo/bar::blobs::{d.digest}") == {
        b"mediatype": LAYER.encode()
    }
    assert sorted(await side.keys("*")) == sorted(
        k.encode()
        for k in (
            blob_key(d.digest),
            repository_set_key("foo/bar"),
            repository_blob_key("foo/bar", d.digest),
        )
    )


async def test_reads_entries_written_by_distribution(
    cache: RedisBlobDescriptorCache, side: Redis
) -> None:
    d = descriptor("from go")
    # What Distribution's repository-scoped SetDescriptor leaves behind.
    await side.hset(blob_key(d.digest), mapping={"digest": str(d.digest), "size": d.size})
    await side.hsetnx(blob_key(d.digest), "mediatype", "application/octet-stream")
    await side.sadd(repository_set_key("library/app"), str(d.digest))
    await side.hset(repository_blob_key("library/app", d.digest), "mediatype", LAYER)
    assert await cache.repository_scoped("library/app").stat(d.digest) == d
    assert (await cache.stat(d.digest)).media_type == "application/octet-stream"


async def test_entry_without_size_is_a_miss(cache: RedisBlobDescriptorCache, side: Redis) -> None:
    d = descriptor("old format")
    # Before "size" Distribution wrote "length": such entries are misses, so they get rewritten.
    await side.hset(
        blob_key(d.digest), mapping={"digest": str(d.digest), "length": d.size, "mediatype": LAYER}
    )
    await side.sadd(repository_set_key("r"), str(d.digest))
    await side.hset(repository_blob_key("r", d.digest), "mediatype", LAYER)
    with pytest.raises(BlobUnknown):
        await cache.stat(d.digest)
    with pytest.raises(BlobUnknown):
        await cache.repository_scoped("r").stat(d.digest)


async def test_member_without_media_type_override_is_a_miss(
    cache: RedisBlobDescriptorCache, side: Redis
) -> None:
    d = descriptor("no override")
    await cache.set_descriptor(d.digest, d)
    await side.sadd(repository_set_key("r"), str(d.digest))
    with pytest.raises(BlobUnknown):
        await cache.repository_scoped("r").stat(d.digest)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"size": "ten"}, id="size-not-a-number"),
        pytest.param({"size": "-1"}, id="negative-size"),
        pytest.param({"digest": "sha256:nothex"}, id="bad-digest"),
        pytest.param({"digest": str(descriptor("other").digest)}, id="other-digest"),
        pytest.param({"mediatype": b"\xff\xfe"}, id="not-utf8"),
    ],
)
async def test_malformed_entries_are_errors_not_misses(
    cache: RedisBlobDescriptorCache, side: Redis, fields: dict[Any, str | bytes]
) -> None:
    d = descriptor("malformed")
    await cache.repository_scoped("r").set_descriptor(d.digest, d)
    await side.hset(blob_key(d.digest), mapping=fields)
    if "mediatype" in fields:  # the repository's own media type is what a scoped stat reads
        await side.hset(repository_blob_key("r", d.digest), mapping=fields)
    with pytest.raises(CacheError, match="blobs::"):
        await cache.stat(d.digest)
    with pytest.raises(CacheError, match="blobs::"):
        await cache.repository_scoped("r").stat(d.digest)
    # Redis answered: that is no reason to stop asking it.
    assert cache.breaker.state is BreakerState.CLOSED
    assert cache.breaker.failures == 0


async def test_error_replies_are_errors_and_do_not_trip_the_breaker(
    cache: RedisBlobDescriptorCache, side: Redis
) -> None:
    d = descriptor("wrongtype")
    await side.set(blob_key(d.digest), "a string, not a hash")
    for _ in range(cache.breaker.threshold + 1):
        with pytest.raises(CacheError, match="ResponseError"):
            await cache.stat(d.digest)
    assert cache.breaker.state is BreakerState.CLOSED


async def test_each_operation_is_one_round_trip(
    cache: RedisBlobDescriptorCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = descriptor("round trips")
    scoped = cache.repository_scoped("r")
    await cache.set_descriptor(d.digest, d)  # connect (and its handshake) before counting
    writes = 0
    send = Connection.send_packed_command

    async def counting(self: Connection, command: Any, check_health: bool = True) -> None:
        nonlocal writes
        writes += 1
        await send(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counting)
    operations: list[Callable[[], Awaitable[object]]] = [
        lambda: scoped.stat(d.digest),  # miss: not a member yet
        lambda: scoped.set_descriptor(d.digest, d),
        lambda: scoped.stat(d.digest),  # hit
        lambda: scoped.clear(d.digest),
        lambda: cache.stat(d.digest),
        lambda: cache.clear(d.digest),
    ]
    for operation in operations:
        before = writes
        with contextlib.suppress(BlobUnknown):
            await operation()
        assert writes - before == 1


async def test_connects_with_the_config_sections_settings(tmp_path: Path) -> None:
    async with RedisServer(tmp_path, args=("--requirepass", "s3cret")) as server:
        config = RedisConfig.model_validate(
            {"addr": server.addr, "password": "s3cret", "db": 3, "readtimeout": "250ms"}
        )
        resolved = RedisSettings.from_config(config)
        assert (resolved.port, resolved.db, resolved.read_timeout) == (server.port, 3, 0.25)
        assert "s3cret" not in repr(resolved)
        provider = RedisBlobDescriptorCache.from_config(config)
        d = descriptor("db3")
        await provider.set_descriptor(d.digest, d)
        side = Redis(port=server.port, password="s3cret", db=3)
        assert await side.exists(blob_key(d.digest)) == 1
        await side.aclose()
        await provider.aclose()
        wrong = RedisBlobDescriptorCache.from_config(config.model_copy(update={"password": None}))
        with pytest.raises(CacheError, match=r"Authentication|NOAUTH"):
            await wrong.stat(d.digest)
        await wrong.aclose()


def test_tls_settings_reach_the_connection(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n")
    config = RedisConfig.model_validate(
        {
            "addr": "redis.internal:6380",
            "tls": {
                "enabled": True,
                "certificate": "c.pem",
                "key": "k.pem",
                "clientcas": [str(ca)],
            },
        }
    )
    pool = create_client(RedisSettings.from_config(config)).connection_pool
    assert pool.connection_class is SSLConnection
    kwargs = pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"]) == ("redis.internal", 6380)
    assert (kwargs["ssl_certfile"], kwargs["ssl_keyfile"]) == ("c.pem", "k.pem")
    assert kwargs["ssl_ca_data"] == ca.read_text()


async def clients_of(side: Redis) -> set[str]:
    """Ids of the server's client connections other than ``side``'s own."""
    own = str(await side.client_id())
    return {c["id"] for c in await side.client_list()} - {own}


async def wait_for_clients(side: Redis, count: int) -> set[str]:
    """Poll until the server sees ``count`` other clients (closing is asynchronous server-side)."""
    for _ in range(500):
        ids = await clients_of(side)
        if len(ids) == count:
            return ids
        await asyncio.sleep(0.01)
    raise AssertionError(f"server has {len(ids)} clients, expected {count}")


async def test_pool_never_opens_more_than_maxactive(
    redis_server: RedisServer, side: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    await wait_for_clients(side, 0)  # earlier tests' connections are gone
    provider = RedisBlobDescriptorCache.from_config(settings(redis_server, max_active=2))
    d = descriptor("bounded")
    await provider.set_descriptor(d.digest, d)
    pool = provider.client.connection_pool
    assert isinstance(pool, BoundedConnectionPool)
    acquire = pool.get_connection
    peak = 0

    async def spy() -> Any:
        nonlocal peak
        connection = await acquire()
        peak = max(peak, pool.in_use)
        return connection

    monkeypatch.setattr(pool, "get_connection", spy)
    results = await asyncio.gather(*(provider.stat(d.digest) for _ in range(50)))
    assert results == [d] * 50
    assert peak == 2  # the 50 concurrent calls shared two connections
    assert len(await clients_of(side)) == 2
    await provider.aclose()


async def test_idle_connections_beyond_maxidle_are_closed(
    redis_server: RedisServer, side: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    await wait_for_clients(side, 0)
    metrics = Metrics()
    provider = RedisBlobDescriptorCache.from_config(
        settings(redis_server, max_active=8, max_idle=1), metrics=metrics
    )
    d = descriptor("idle")
    await provider.set_descriptor(d.digest, d)
    pool = provider.client.connection_pool
    assert isinstance(pool, BoundedConnectionPool)
    acquire = pool.get_connection
    busy = 0

    async def spy() -> Any:
        nonlocal busy
        connection = await acquire()
        busy = max(busy, pool.in_use)
        return connection

    monkeypatch.setattr(pool, "get_connection", spy)
    await asyncio.gather(*(provider.stat(d.digest) for _ in range(40)))
    assert busy > 1  # several connections were open at once ...
    assert (pool.in_use, pool.idle) == (0, 1)  # ... and only one stays open
    gauge = metrics.registry.get_sample_value
    assert gauge("registry_redis_pool_connections", {"state": "idle"}) == 1
    assert gauge("registry_redis_pool_connections", {"state": "in_use"}) == 0
    await wait_for_clients(side, 1)
    await provider.aclose()


async def test_connections_idle_past_idletimeout_are_replaced(
    redis_server: RedisServer, side: Redis
) -> None:
    await wait_for_clients(side, 0)
    provider = RedisBlobDescriptorCache.from_config(settings(redis_server, idle_timeout=0.01))
    d = descriptor("idle timeout")
    await provider.set_descriptor(d.digest, d)
    first = await wait_for_clients(side, 1)
    await asyncio.sleep(0.05)  # let the connection idle past idletimeout
    assert await provider.stat(d.digest) == d
    second = await wait_for_clients(side, 1)
    assert first.isdisjoint(second)
    await provider.aclose()


async def test_latency_histogram_starts_below_a_millisecond(
    redis_server: RedisServer, side: Redis
) -> None:
    metrics = Metrics()
    provider = RedisBlobDescriptorCache.from_config(settings(redis_server), metrics=metrics)
    d = descriptor("timed")
    scoped = provider.repository_scoped("r")
    await scoped.set_descriptor(d.digest, d)
    await scoped.stat(d.digest)
    await scoped.stat(d.digest)
    await provider.stat(d.digest)
    sample = metrics.registry.get_sample_value
    name = "registry_storage_cache_redis_seconds"
    assert sample(f"{name}_count", {"operation": "RepoSetDescriptor"}) == 1
    assert sample(f"{name}_count", {"operation": "RepoStat"}) == 2
    assert sample(f"{name}_count", {"operation": "Stat"}) == 1
    assert sample(f"{name}_bucket", {"operation": "RepoStat", "le": "5e-05"}) is not None
    await provider.aclose()
