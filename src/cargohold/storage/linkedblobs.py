"""Repository-scoped blobs: a link under the repository names a blob in the global store."""

from __future__ import annotations

from collections.abc import Callable

from cargohold.errors import BlobUnknown, Unsupported
from cargohold.manifest import Descriptor
from cargohold.reference import Digest
from cargohold.storage import paths
from cargohold.storage.base import BlobDescriptorService
from cargohold.storage.blobstore import BlobStore
from cargohold.storage.driver.base import FileReader
from cargohold.storage.links import delete_path, read_link, write_link

LinkPath = Callable[[str, Digest], str]


class LinkedBlobStatter:
    """Stats a blob through the repository's link files, always from storage (never the cache).

    ``link_paths`` are tried in order; a link whose content names another digest is ignored.
    """

    def __init__(self, blobs: BlobStore, repository: str, link_paths: tuple[LinkPath, ...]) -> None:
        self.blobs = blobs
        self.repository = repository
        self.link_paths = link_paths

    async def stat(self, digest: Digest) -> Descriptor:
        for link_path in self.link_paths:
            target = await read_link(self.blobs.driver, link_path(self.repository, digest))
            if target == digest:
                return await self.blobs.stat(digest)
        raise BlobUnknown(
            f"blob {digest} unknown to repository {self.repository}", {"digest": str(digest)}
        )

    async def set_descriptor(self, digest: Digest, descriptor: Descriptor) -> None:
        """Create the primary link; the global blob must already be in place."""
        await write_link(self.blobs.driver, self.link_paths[0](self.repository, digest), digest)

    async def clear(self, digest: Digest) -> None:
        """Remove the blob's links from the repository; raise BlobUnknown if none existed."""
        removed = False
        for link_path in self.link_paths:
            path = link_path(self.repository, digest).rsplit("/", 1)[0]
            removed = await delete_path(self.blobs.driver, path) or removed
        if not removed:
            raise BlobUnknown(
                f"blob {digest} unknown to repository {self.repository}", {"digest": str(digest)}
            )


class LinkedBlobService:
    """A repository's blobs: stat through ``statter`` (possibly cached), content from the global store."""

    def __init__(
        self,
        blobs: BlobStore,
        repository: str,
        statter: BlobDescriptorService,
        *,
        delete_enabled: bool,
        redirect: bool,
        mount_source: Callable[[str], BlobDescriptorService],
    ) -> None:
        self.blobs = blobs
        self.repository = repository
        self.statter = statter
        self.delete_enabled = delete_enabled
        self.redirect = redirect
        self._mount_source = mount_source

    async def stat(self, digest: Digest) -> Descriptor:
        return await self.statter.stat(digest)

    async def open(self, digest: Digest, offset: int = 0) -> FileReader:
        await self.statter.stat(digest)
        return await self.blobs.open(digest, offset)

    async def local_path(self, digest: Digest) -> str | None:
        return self.blobs.driver.local_path(paths.blob_data(digest))

    async def redirect_url(self, digest: Digest, method: str) -> str | None:
        if not self.redirect:
            return None
        return await self.blobs.driver.redirect_url(paths.blob_data(digest), method)

    async def delete(self, digest: Digest) -> None:
        if not self.delete_enabled:
            raise Unsupported("blob deletion is disabled (storage.delete.enabled)")
        await self.statter.clear(digest)

    async def link(self, descriptor: Descriptor) -> None:
        """Link an existing global blob into the repository."""
        await self.statter.set_descriptor(descriptor.digest, descriptor)

    async def mount(self, digest: Digest, source: str | None) -> Descriptor:
        """Link ``digest`` from ``source``, checked against storage, never against the cache alone."""
        if source is not None:
            desc = await self._mount_source(source).stat(digest)
        else:
            # Mount without `from` (OCI distribution-spec §Mounting a blob): any blob the registry
            # holds may be linked; the registry has no access control here to withhold it.
            desc = await self.blobs.stat(digest)
        await self.link(desc)
        return desc
