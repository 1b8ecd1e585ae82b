"""The domain exception hierarchy; ``cargohold.api.errcode`` maps it to OCI error codes in one place.

::

    CargoholdError
    ├── InvalidInput                     client sent something unacceptable (4xx)
    │   ├── NameInvalid                  repository name fails the OCI grammar
    │   ├── TagInvalid                   tag fails the OCI grammar
    │   ├── DigestInvalid                malformed digest, or content does not match it
    │   │   └── DigestUnsupported        well-formed digest of an algorithm we do not implement
    │   ├── SizeInvalid                  declared size does not match content
    │   ├── ManifestInvalid              manifest fails parsing or validation
    │   ├── ManifestTooLarge             manifest body over the configured limit
    │   ├── ManifestBlobUnknown          manifest references a blob/manifest not in the repository
    │   ├── BlobUploadInvalid            upload request is malformed
    │   ├── RangeInvalid                 chunk does not start at the upload's current offset
    │   ├── RangeNotSatisfiable          blob Range header outside the blob
    │   └── PaginationInvalid            bad ``n`` / ``last`` query parameters
    ├── NotFound
    │   ├── NameUnknown                  repository does not exist
    │   ├── BlobUnknown                  blob not linked in the repository (or absent globally)
    │   ├── BlobUploadUnknown            upload session does not exist
    │   └── ManifestUnknown              manifest/tag not found
    ├── Unsupported                      operation disabled by configuration
    │   └── ReadOnly                     registry in read-only maintenance mode
    ├── Unavailable                      a backend the request needs is down
    └── StorageError                     driver-level failures (see cargohold.storage.driver)
        ├── PathNotFound
        ├── InvalidPath
        └── InvalidOffset
"""

from __future__ import annotations

from typing import Any


class CargoholdError(Exception):
    """Base of every error cargohold raises on purpose; ``detail`` is sent to clients as-is."""

    def __init__(self, message: str = "", detail: Any = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.__class__.__name__)
        self.message = message or (self.__class__.__doc__ or "").strip().splitlines()[0]
        self.detail = detail


class InvalidInput(CargoholdError):
    """The request is invalid."""


class NameInvalid(InvalidInput):
    """Invalid repository name."""


class TagInvalid(InvalidInput):
    """Manifest tag did not match the OCI tag grammar."""


class DigestInvalid(InvalidInput):
    """Provided digest did not match uploaded content or is malformed."""


class DigestUnsupported(DigestInvalid):
    """Digest algorithm is not supported."""


class SizeInvalid(InvalidInput):
    """Provided length did not match content length."""


class ManifestInvalid(InvalidInput):
    """Manifest invalid."""


class ManifestTooLarge(InvalidInput):
    """Manifest is larger than the registry accepts."""


class ManifestBlobUnknown(InvalidInput):
    """Manifest references a manifest or blob unknown to the registry."""


class BlobUploadInvalid(InvalidInput):
    """Blob upload invalid."""


class RangeInvalid(InvalidInput):
    """Requested range is not the next chunk of the upload; ``size`` is the current offset."""

    def __init__(self, message: str = "", detail: Any = None, *, size: int = 0) -> None:
        super().__init__(message, detail)
        self.size = size


class RangeNotSatisfiable(InvalidInput):
    """Requested range not satisfiable; ``size`` is the blob's size."""

    def __init__(self, message: str = "", detail: Any = None, *, size: int = 0) -> None:
        super().__init__(message, detail)
        self.size = size


class PaginationInvalid(InvalidInput):
    """Invalid pagination parameters."""


class NotFound(CargoholdError):
    """Resource not found."""


class NameUnknown(NotFound):
    """Repository name not known to registry."""


class BlobUnknown(NotFound):
    """Blob unknown to registry."""


class BlobUploadUnknown(NotFound):
    """Blob upload unknown to registry."""


class ManifestUnknown(NotFound):
    """Manifest unknown."""


class Unsupported(CargoholdError):
    """The operation is unsupported."""


class ReadOnly(Unsupported):
    """The registry is in read-only mode."""


class Unavailable(CargoholdError):
    """Service unavailable."""


class StorageError(CargoholdError):
    """Storage driver failure."""


class PathNotFound(StorageError):
    """Path not found in storage."""


class InvalidPath(StorageError):
    """Storage path is not valid for the driver."""


class InvalidOffset(StorageError):
    """Invalid offset for a storage read or write."""
