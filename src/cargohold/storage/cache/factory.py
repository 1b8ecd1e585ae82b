"""Builds the configured blob descriptor cache provider (``storage.cache.blobdescriptor``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cargohold.metrics import Metrics
from cargohold.storage.cache.base import BlobDescriptorCacheProvider
from cargohold.storage.cache.inmemory import DEFAULT_SIZE, InMemoryBlobDescriptorCache

if TYPE_CHECKING:
    from cargohold.config.model import RedisConfig

__all__ = ["create_cache_provider"]


def create_cache_provider(
    kind: str | None,
    size: int = DEFAULT_SIZE,
    redis: RedisConfig | None = None,
    *,
    metrics: Metrics | None = None,
) -> BlobDescriptorCacheProvider | None:
    """Return the provider for ``kind`` (None or "" disables caching); no connection is opened.

    ``size`` bounds the in-memory cache (``storage.cache.blobdescriptorsize``); ``redis`` is the
    ``redis`` section, required for kind "redis". Collectors are registered in ``metrics``
    (a private registry if None). Raises ValueError for an unknown kind or a missing section.
    """
    if not kind:
        return None
    if kind == "inmemory":
        return InMemoryBlobDescriptorCache(size, metrics=metrics.cache if metrics else None)
    if kind == "redis":
        if redis is None:
            raise ValueError("storage.cache.blobdescriptor is redis but no redis section is set")
        # Imported here so that deployments without a Redis cache never load redis-py.
        from cargohold.storage.cache.redis import RedisBlobDescriptorCache

        return RedisBlobDescriptorCache.from_config(redis, metrics=metrics)
    raise ValueError(f"unknown blob descriptor cache {kind!r} (known: inmemory, redis)")
