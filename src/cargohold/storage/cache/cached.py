"""A statter that asks the cache first, storage on a miss, and only storage when the cache fails."""

from __future__ import annotations

import logging
import time

from cargohold.errors import BlobUnknown
from cargohold.manifest import Descriptor
from cargohold.reference import Digest
from cargohold.storage.base import BlobDescriptorService

log = logging.getLogger(__name__)

# A failing cache is logged at most once per this many seconds, so an outage is not a log storm.
_ERROR_LOG_INTERVAL = 10.0


class CacheStats:
    """Counters of one cache type; the metrics module exports them."""

    def __init__(self) -> None:
        self.requests = 0
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self._last_error_log = float("-inf")

    def error(self, op: str, exc: BaseException) -> None:
        self.errors += 1
        now = time.monotonic()
        if now - self._last_error_log >= _ERROR_LOG_INTERVAL:
            self._last_error_log = now
            log.warning("blob descriptor cache %s failed, serving from storage: %r", op, exc)


class CachedBlobStatter:
    """Wraps a storage-backed descriptor service with a cache (CNCF Distribution's cachedBlobStatter).

    Only a genuine miss (BlobUnknown from the cache) fills the cache; a cache error is counted and
    answered from storage without writing, so a struggling cache is never hammered with refills.
    """

    def __init__(
        self, cache: BlobDescriptorService, backend: BlobDescriptorService, stats: CacheStats
    ) -> None:
        self.cache = cache
        self.backend = backend
        self.stats = stats

    async def stat(self, digest: Digest) -> Descriptor:
        self.stats.requests += 1
        try:
            desc = await self.cache.stat(digest)
        except BlobUnknown:
            self.stats.misses += 1
        except Exception as exc:
            self.stats.error("stat", exc)
            return await self.backend.stat(digest)
        else:
            self.stats.hits += 1
            return desc
        desc = await self.backend.stat(digest)
        try:
            await self.cache.set_descriptor(digest, desc)
        except Exception as exc:
            self.stats.error("set_descriptor", exc)
        return desc

    async def set_descriptor(self, digest: Digest, descriptor: Descriptor) -> None:
        await self.backend.set_descriptor(digest, descriptor)
        try:
            await self.cache.set_descriptor(digest, descriptor)
        except Exception as exc:
            self.stats.error("set_descriptor", exc)

    async def clear(self, digest: Digest) -> None:
        # Clear the cache first: if storage then fails, a stale "present" answer is still gone.
        try:
            await self.cache.clear(digest)
        except BlobUnknown:
            pass
        except Exception as exc:
            self.stats.error("clear", exc)
        await self.backend.clear(digest)
