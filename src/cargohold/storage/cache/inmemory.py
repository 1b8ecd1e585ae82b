"""The in-memory descriptor cache: bounded LRU maps, global and per repository."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Generic, TypeVar

from cargohold.errors import BlobUnknown
from cargohold.manifest import Descriptor
from cargohold.metrics import CacheMetrics
from cargohold.reference import Digest, validate_name
from cargohold.storage.base import BlobDescriptorService
from cargohold.storage.cache.base import check_descriptor
from cargohold.storage.cache.stats import CacheStats

__all__ = ["DEFAULT_SIZE", "InMemoryBlobDescriptorCache"]

K = TypeVar("K")
V = TypeVar("V")

#: CNCF Distribution 3's default for ``storage.cache.blobdescriptorsize``.
DEFAULT_SIZE = 10000


class _LRU(Generic[K, V]):
    """An LRU map; every operation is synchronous, so it is safe on one event loop without locks."""

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError("cache size must be positive")
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)


class InMemoryBlobDescriptorCache:
    """Global digest -> descriptor cache with repository scopes (media-type overrides per repository).

    Holds at most ``size`` global descriptors and ``size`` repository memberships, each evicting
    the least recently used. As in CNCF Distribution, the global media type is the first one
    recorded, and a repository's own media type overrides it in that repository only. A scoped
    entry is only answered while its global descriptor is cached too.
    """

    name = "inmemory"

    def __init__(self, size: int = DEFAULT_SIZE, *, metrics: CacheMetrics | None = None) -> None:
        self.stats = CacheStats(metrics, self.name)
        self._global: _LRU[Digest, Descriptor] = _LRU(size)
        # (repository, digest) -> the repository's media type for it; presence means membership.
        self._scoped: _LRU[tuple[str, Digest], str] = _LRU(size)

    def __len__(self) -> int:
        """Global descriptors held (memberships are bounded separately by the same size)."""
        return len(self._global)

    async def stat(self, digest: Digest) -> Descriptor:
        desc = self._global.get(digest)
        if desc is None:
            raise BlobUnknown(f"blob {digest} not in cache")
        return desc

    async def set_descriptor(self, digest: Digest, descriptor: Descriptor) -> None:
        self._set_global(digest, check_descriptor(digest, descriptor))

    async def clear(self, digest: Digest) -> None:
        if self._global.pop(digest) is None:
            raise BlobUnknown(f"blob {digest} not in cache")

    def repository_scoped(self, repository: str) -> BlobDescriptorService:
        """Raise NameInvalid for a name outside the OCI grammar."""
        return _ScopedInMemory(self, validate_name(repository))

    async def aclose(self) -> None:
        return None

    def _set_global(self, digest: Digest, descriptor: Descriptor) -> None:
        known = self._global.get(digest)
        # Content is addressed by digest, so only the media type can differ: the first one stays.
        self._global.put(digest, descriptor if known is None else known)

    def _scoped_stat(self, repository: str, digest: Digest) -> Descriptor:
        media_type = self._scoped.get((repository, digest))
        desc = self._global.get(digest) if media_type is not None else None
        if media_type is None or desc is None:
            raise BlobUnknown(f"blob {digest} not in cache for {repository}")
        return desc if desc.media_type == media_type else replace(desc, media_type=media_type)

    def _scoped_set(self, repository: str, digest: Digest, descriptor: Descriptor) -> None:
        descriptor = check_descriptor(digest, descriptor)
        self._set_global(digest, descriptor)
        self._scoped.put((repository, digest), descriptor.media_type)

    def _scoped_clear(self, repository: str, digest: Digest) -> None:
        if self._scoped.pop((repository, digest)) is None:
            raise BlobUnknown(f"blob {digest} not in cache for {repository}")


class _ScopedInMemory:
    """One repository's view of an InMemoryBlobDescriptorCache."""

    def __init__(self, parent: InMemoryBlobDescriptorCache, repository: str) -> None:
        self._parent = parent
        self._repository = repository

    async def stat(self, digest: Digest) -> Descriptor:
        return self._parent._scoped_stat(self._repository, digest)

    async def set_descriptor(self, digest: Digest, descriptor: Descriptor) -> None:
        self._parent._scoped_set(self._repository, digest, descriptor)

    async def clear(self, digest: Digest) -> None:
        self._parent._scoped_clear(self._repository, digest)
