"""A statter that asks the cache first, storage on a miss, and only storage when the cache fails."""

from __future__ import annotations

from cargohold.errors import BlobUnknown
from cargohold.manifest import Descriptor
from cargohold.reference import Digest
from cargohold.storage.base import BlobDescriptorService
from cargohold.storage.cache.stats import CacheStats

__all__ = ["CacheStats", "CachedBlobStatter"]


class CachedBlobStatter:
    """Wraps a storage-backed descriptor service with a cache (CNCF Distribution's cachedBlobStatter).

    Only a genuine miss (BlobUnknown from the cache) fills the cache. Any other cache exception is
    counted in ``stats``, logged once per burst and answered from storage *without* writing to the
    cache: refilling on errors is what turned a slow Redis into an outage for Distribution users.
    Storage errors (including BlobUnknown from ``backend``) propagate unchanged.
    """

    def __init__(
        self, cache: BlobDescriptorService, backend: BlobDescriptorService, stats: CacheStats
    ) -> None:
        self.cache = cache
        self.backend = backend
        self.stats = stats

    async def stat(self, digest: Digest) -> Descriptor:
        self.stats.request()
        try:
            desc = await self.cache.stat(digest)
        except BlobUnknown:
            self.stats.miss()
        except Exception as exc:
            self.stats.error("stat", exc)
            return await self.backend.stat(digest)
        else:
            self.stats.hit()
            return desc
        desc = await self.backend.stat(digest)
        try:
            await self.cache.set_descriptor(digest, desc)
        except Exception as exc:
            self.stats.error("set_descriptor", exc)
        return desc

    async def set_descriptor(self, digest: Digest, descriptor: Descriptor) -> None:
        """Record in storage (the truth) first, then in the cache; a cache failure is only counted."""
        await self.backend.set_descriptor(digest, descriptor)
        try:
            await self.cache.set_descriptor(digest, descriptor)
        except Exception as exc:
            self.stats.error("set_descriptor", exc)

    async def clear(self, digest: Digest) -> None:
        """Forget in the cache, then in storage; BlobUnknown comes from storage only."""
        # Cache first: if storage then fails, a stale "present" answer is still gone.
        try:
            await self.cache.clear(digest)
        except BlobUnknown:
            pass
        except Exception as exc:
            self.stats.error("clear", exc)
        await self.backend.clear(digest)
