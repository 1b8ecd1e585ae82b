"""The blob descriptor cache contract: a global digest -> descriptor map with repository scopes.

A provider answers ``stat`` with BlobUnknown for a genuine miss; any other exception (typically
:class:`CacheError`) is a cache *error*, which callers treat as "ask storage, and do not write to
the cache". ::

    Unavailable                  (cargohold.errors)
    └── CacheError               the cache could not answer: transport failure, timeout, bad reply
        └── CircuitOpen          the cache is being skipped after repeated failures
"""

from __future__ import annotations

from typing import Protocol

from cargohold.errors import Unavailable
from cargohold.manifest import Descriptor
from cargohold.reference import Digest
from cargohold.storage.base import BlobDescriptorService
from cargohold.storage.cache.stats import CacheStats

__all__ = ["BlobDescriptorCacheProvider", "CacheError", "CircuitOpen", "check_descriptor"]


class CacheError(Unavailable):
    """The blob descriptor cache failed to answer; the caller falls back to storage."""


class CircuitOpen(CacheError):
    """The cache backend is being skipped after repeated failures (no call was made)."""


class BlobDescriptorCacheProvider(BlobDescriptorService, Protocol):
    """Global descriptor cache that can be scoped to one repository's membership.

    ``stats`` counts requests, hits, misses and errors of ``CachedBlobStatter``s over this cache.
    """

    name: str
    stats: CacheStats

    def repository_scoped(self, repository: str) -> BlobDescriptorService:
        """The same cache, restricted to blobs linked into ``repository``."""
        ...

    async def aclose(self) -> None:
        """Release connections held by the provider."""
        ...


def check_descriptor(digest: Digest, descriptor: Descriptor) -> Descriptor:
    """Return the part of ``descriptor`` a cache keeps: digest, size and media type.

    Raises ValueError for a descriptor of another digest, a negative size or no media type:
    callers only ever cache what storage just returned, so any of these is a bug.
    """
    if descriptor.digest != digest:
        raise ValueError(f"descriptor digest {descriptor.digest} does not match key {digest}")
    if descriptor.size < 0:
        raise ValueError(f"descriptor for {digest} has negative size {descriptor.size}")
    if not descriptor.media_type:
        raise ValueError(f"descriptor for {digest} has an empty media type")
    return Descriptor(descriptor.digest, descriptor.size, descriptor.media_type)
