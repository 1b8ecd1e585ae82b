"""The global content-addressed blob store: ``blobs/<alg>/<xx>/<hex>/data``, shared by every repository."""

from __future__ import annotations

from cargohold.errors import BlobUnknown, PathNotFound
from cargohold.manifest import Descriptor
from cargohold.reference import Digest
from cargohold.storage import paths
from cargohold.storage.driver.base import FileReader, StorageDriver


class BlobStore:
    """Stats, reads and writes global blobs; it knows nothing of repositories or media types."""

    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver

    async def stat(self, digest: Digest) -> Descriptor:
        """Return the blob's descriptor (octet-stream media type); raise BlobUnknown."""
        try:
            info = await self.driver.stat(paths.blob_data(digest))
        except PathNotFound:
            raise BlobUnknown(
                f"blob {digest} unknown to registry", {"digest": str(digest)}
            ) from None
        if info.is_dir:
            raise BlobUnknown(f"blob {digest} unknown to registry", {"digest": str(digest)})
        return Descriptor(digest, info.size)

    async def get(self, digest: Digest) -> bytes:
        """Return a small blob's whole content (manifests); raise BlobUnknown."""
        try:
            return await self.driver.get_content(paths.blob_data(digest))
        except PathNotFound:
            raise BlobUnknown(
                f"blob {digest} unknown to registry", {"digest": str(digest)}
            ) from None

    async def put(self, digest: Digest, content: bytes) -> Descriptor:
        """Store ``content`` (whose digest the caller verified) unless already present; atomic."""
        try:
            return await self.stat(digest)
        except BlobUnknown:
            pass
        await self.driver.put_content(paths.blob_data(digest), content)
        return Descriptor(digest, len(content))

    async def open(self, digest: Digest, offset: int = 0) -> FileReader:
        """Open the blob's content at ``offset``; raise BlobUnknown."""
        try:
            return await self.driver.reader(paths.blob_data(digest), offset)
        except PathNotFound:
            raise BlobUnknown(
                f"blob {digest} unknown to registry", {"digest": str(digest)}
            ) from None

    async def adopt(self, source_path: str, digest: Digest) -> None:
        """Move a verified upload into place; the rename is atomic so no partial blob is visible."""
        await self.driver.move(source_path, paths.blob_data(digest))
