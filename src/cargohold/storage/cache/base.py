"""The blob descriptor cache contract: a global digest -> descriptor map with repository scopes.

A provider answers ``stat`` with BlobUnknown for a genuine miss; any other exception is a cache
*error*, which callers must treat as "ask storage, and do not write to the cache".
"""

from __future__ import annotations

from typing import Protocol

from cargohold.manifest import Descriptor
from cargohold.reference import Digest
from cargohold.storage.base import BlobDescriptorService


class BlobDescriptorCacheProvider(BlobDescriptorService, Protocol):
    """Global descriptor cache that can be scoped to one repository's membership."""

    name: str

    def repository_scoped(self, repository: str) -> BlobDescriptorService:
        """The same cache, restricted to blobs linked into ``repository``."""
        ...

    async def aclose(self) -> None:
        """Release connections held by the provider."""
        ...


def check_descriptor(digest: Digest, descriptor: Descriptor) -> None:
    """Refuse to cache a descriptor that names another digest or a negative size."""
    if descriptor.digest != digest:
        raise ValueError(f"descriptor digest {descriptor.digest} does not match key {digest}")
    if descriptor.size < 0:
        raise ValueError(f"descriptor for {digest} has negative size")
