"""The storage services the API consumes: small Protocols, composed by wrapping in ``registry.py``.

Every method raises only ``cargohold.errors`` domain exceptions for expected failures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from cargohold.manifest import Descriptor
from cargohold.reference import Digest
from cargohold.storage.driver.base import FileReader

Body = AsyncIterator[bytes]


@dataclass(frozen=True, slots=True)
class UploadStatus:
    """An upload session: its id, bytes received so far and start time (POSIX seconds)."""

    upload_id: str
    offset: int
    started_at: float


@dataclass(frozen=True, slots=True)
class StoredManifest:
    """A manifest's descriptor (media type from its content) and its exact bytes."""

    descriptor: Descriptor
    content: bytes


class BlobStatter(Protocol):
    """Answers what a blob is without touching its bytes."""

    async def stat(self, digest: Digest) -> Descriptor:
        """Return the blob's descriptor; raise BlobUnknown."""
        ...


class BlobDescriptorService(BlobStatter, Protocol):
    """A statter whose answers can be recorded and forgotten (the cache boundary)."""

    async def set_descriptor(self, digest: Digest, descriptor: Descriptor) -> None: ...

    async def clear(self, digest: Digest) -> None:
        """Forget ``digest``; raise BlobUnknown if it was not known."""
        ...


class BlobService(BlobStatter, Protocol):
    """Repository-scoped blobs: stat, read, delete and cross-repository mount."""

    async def open(self, digest: Digest, offset: int = 0) -> FileReader:
        """Open the blob's content at ``offset``; raise BlobUnknown."""
        ...

    async def local_path(self, digest: Digest) -> str | None:
        """An OS path for ``sendfile``, or None if the driver has none."""
        ...

    async def redirect_url(self, digest: Digest, method: str) -> str | None:
        """A URL the client may fetch the blob from directly, or None."""
        ...

    async def delete(self, digest: Digest) -> None:
        """Unlink the blob from the repository; raise BlobUnknown, Unsupported when disabled."""
        ...

    async def mount(self, digest: Digest, source: str | None) -> Descriptor:
        """Link an existing blob from repository ``source`` (any if None); raise BlobUnknown."""
        ...


class UploadService(Protocol):
    """Resumable blob uploads of one repository (OCI distribution-spec §Pushing blobs)."""

    async def create(self, algorithm: str = "sha256") -> UploadStatus:
        """Start a session; ``algorithm`` is the digest the client intends to finish with (a hint)."""
        ...

    async def status(self, upload_id: str) -> UploadStatus:
        """Raise BlobUploadUnknown for unknown, finished or cancelled ids."""
        ...

    async def append(
        self, upload_id: str, body: Body, start: int | None = None, length: int | None = None
    ) -> UploadStatus:
        """Stream ``body`` onto the upload; raise RangeInvalid if ``start`` is not the offset.

        ``length`` is the body's declared size, if known: a hint for allocating storage.
        """
        ...

    async def commit(
        self,
        upload_id: str,
        digest: Digest,
        body: Body | None = None,
        start: int | None = None,
        length: int | None = None,
    ) -> Descriptor:
        """Append the final ``body`` (``length`` as for append), verify ``digest`` and link the
        blob; DigestInvalid on mismatch."""
        ...

    async def cancel(self, upload_id: str) -> None: ...


class ManifestService(Protocol):
    """Manifests of one repository, stored byte-exact in the blob store."""

    async def get(self, digest: Digest) -> StoredManifest:
        """Raise ManifestUnknown."""
        ...

    async def stat(self, digest: Digest) -> Descriptor:
        """Raise ManifestUnknown."""
        ...

    async def get_tagged(self, tag: str) -> StoredManifest:
        """The manifest ``tag`` points at; ManifestUnknown if absent or its revision is gone."""
        ...

    async def put(
        self, content: bytes, content_type: str | None, digest: Digest | None, tags: list[str]
    ) -> tuple[Descriptor, Digest | None]:
        """Validate and store; tag it with ``tags``; return the descriptor and the subject, if any.

        Raises ManifestInvalid, ManifestBlobUnknown, DigestInvalid (``digest`` mismatch), TagInvalid.
        """
        ...

    async def delete(self, digest: Digest) -> None:
        """Delete the revision and every tag pointing at it; ManifestUnknown, Unsupported."""
        ...


class TagService(Protocol):
    """Tags of one repository."""

    async def resolve(self, tag: str) -> Digest:
        """Raise ManifestUnknown when the tag is absent or points at a deleted manifest."""
        ...

    async def list(self) -> list[str]:
        """All resolvable tags, sorted; raise NameUnknown if the repository has no manifests."""
        ...

    async def delete(self, tag: str) -> None:
        """Remove the tag only (not the manifest); ManifestUnknown, Unsupported."""
        ...


class ReferrerService(Protocol):
    """The referrers index of one repository (OCI distribution-spec §Listing Referrers)."""

    async def list(self, subject: Digest, artifact_type: str | None = None) -> list[Descriptor]: ...


class Repository(Protocol):
    """One repository's services."""

    @property
    def name(self) -> str: ...
    @property
    def blobs(self) -> BlobService: ...
    @property
    def uploads(self) -> UploadService: ...
    @property
    def manifests(self) -> ManifestService: ...
    @property
    def tags(self) -> TagService: ...
    @property
    def referrers(self) -> ReferrerService: ...


class Registry(Protocol):
    """The whole registry: repositories by name and the catalog."""

    def repository(self, name: str) -> Repository:
        """Return the services of ``name`` (validated by the caller; need not exist yet)."""
        ...

    async def catalog(self, n: int | None, last: str | None) -> list[str]:
        """Repository names after ``last`` in sorted order, at most ``n`` (all if None)."""
        ...
