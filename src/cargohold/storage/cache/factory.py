"""Builds the configured blob descriptor cache provider."""

from __future__ import annotations

from cargohold.storage.cache.base import BlobDescriptorCacheProvider
from cargohold.storage.cache.inmemory import DEFAULT_SIZE, InMemoryBlobDescriptorCache


def create_cache_provider(
    kind: str | None, size: int = DEFAULT_SIZE
) -> BlobDescriptorCacheProvider | None:
    """Return the provider for ``storage.cache.blobdescriptor`` (None or "" disables caching)."""
    if not kind:
        return None
    if kind == "inmemory":
        return InMemoryBlobDescriptorCache(size)
    raise ValueError(f"unknown blob descriptor cache {kind!r}")
