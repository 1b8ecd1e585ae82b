"""Registered OCI error codes as data, and the one table mapping domain exceptions onto them.

The codes are those of OCI distribution-spec §Error Codes plus the ones CNCF Distribution adds
(``RANGE_INVALID``, ``TAG_INVALID``, ``PAGINATION_NUMBER_INVALID``, ``UNAVAILABLE``, ``UNKNOWN``).
A raised ``cargohold.errors`` exception is resolved by walking its MRO until a class in
``EXCEPTION_CODES`` is found, so a subclass inherits its parent's code unless it has its own.
Bodies are ``{"errors": [{"code", "message", "detail"}]}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from cargohold import errors


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One registered error code: its wire value, default message, meaning and HTTP status."""

    code: str
    message: str
    description: str
    status: int


def _codes(*codes: ErrorCode) -> dict[str, ErrorCode]:
    return {c.code: c for c in codes}


ERROR_CODES: dict[str, ErrorCode] = _codes(
    # OCI distribution-spec §Error Codes (code-1 .. code-14).
    ErrorCode(
        "BLOB_UNKNOWN", "blob unknown to registry", "The blob is not in the repository.", 404
    ),
    ErrorCode(
        "BLOB_UPLOAD_INVALID", "blob upload invalid", "The upload request is malformed.", 400
    ),
    ErrorCode(
        "BLOB_UPLOAD_UNKNOWN",
        "blob upload unknown to registry",
        "The upload session does not exist, was cancelled or has completed.",
        404,
    ),
    ErrorCode(
        "DIGEST_INVALID",
        "provided digest did not match uploaded content",
        "The digest is malformed, of an unsupported algorithm, or does not match the content.",
        400,
    ),
    # Distribution registers MANIFEST_BLOB_UNKNOWN as 400: the manifest, not the URL, is at fault.
    ErrorCode(
        "MANIFEST_BLOB_UNKNOWN",
        "manifest references a manifest or blob unknown to registry",
        "A pushed manifest references content the repository does not hold.",
        400,
    ),
    ErrorCode(
        "MANIFEST_INVALID", "manifest invalid", "The manifest failed parsing or validation.", 400
    ),
    ErrorCode(
        "MANIFEST_UNKNOWN",
        "manifest unknown to registry",
        "The manifest or tag is not in the repository.",
        404,
    ),
    ErrorCode(
        "NAME_INVALID", "invalid repository name", "The name fails the repository grammar.", 400
    ),
    ErrorCode(
        "NAME_UNKNOWN",
        "repository name not known to registry",
        "The repository does not exist.",
        404,
    ),
    ErrorCode(
        "SIZE_INVALID",
        "provided length did not match content length",
        "A declared length does not match the bytes received.",
        400,
    ),
    ErrorCode("UNAUTHORIZED", "authentication required", "Credentials are missing.", 401),
    ErrorCode(
        "DENIED",
        "requested access to the resource is denied",
        "The credentials do not grant this action.",
        403,
    ),
    ErrorCode(
        "UNSUPPORTED",
        "the operation is unsupported",
        "The method is not allowed here or is disabled by configuration.",
        405,
    ),
    ErrorCode("TOOMANYREQUESTS", "too many requests", "The client is being rate limited.", 429),
    # CNCF Distribution's additions (registry/api/errcode and registry/api/v2).
    ErrorCode(
        "RANGE_INVALID",
        "invalid content range",
        "A chunk does not start at the upload's offset, or a Range cannot be satisfied.",
        416,
    ),
    ErrorCode("TAG_INVALID", "manifest tag did not match URI", "The tag fails the grammar.", 400),
    ErrorCode(
        "PAGINATION_NUMBER_INVALID",
        "invalid number of results requested",
        "The n query parameter is not a non-negative integer within the limit.",
        400,
    ),
    ErrorCode(
        "UNAVAILABLE", "service unavailable", "A backend the request needs is unavailable.", 503
    ),
    ErrorCode("UNKNOWN", "unknown error", "An unexpected error; see the request id.", 500),
)


@dataclass(frozen=True, slots=True)
class CodeMapping:
    """How one exception class is rendered: a code, an optional status override, extra headers."""

    code: str
    status: int | None = None
    headers: Callable[[errors.CargoholdError], dict[str, str]] | None = None


def _upload_range(exc: errors.CargoholdError) -> dict[str, str]:
    # OCI distribution-spec §Pushing a blob in chunks: a 416 tells the client where to resume.
    size = getattr(exc, "size", 0)
    return {"Range": f"0-{max(size - 1, 0)}"}


def _content_range(exc: errors.CargoholdError) -> dict[str, str]:
    # RFC 9110 §15.5.17: a 416 carries ``Content-Range: bytes */<complete-length>``.
    return {"Content-Range": f"bytes */{getattr(exc, 'size', 0)}"}


# THE table. Order is irrelevant: the most specific class in an exception's MRO wins.
EXCEPTION_CODES: Mapping[type[errors.CargoholdError], CodeMapping] = {
    errors.NameInvalid: CodeMapping("NAME_INVALID"),
    errors.TagInvalid: CodeMapping("TAG_INVALID"),
    errors.DigestInvalid: CodeMapping("DIGEST_INVALID"),
    errors.SizeInvalid: CodeMapping("SIZE_INVALID"),
    errors.ManifestInvalid: CodeMapping("MANIFEST_INVALID"),
    # 413 per OCI distribution-spec §Pushing Manifests. The body is a valid manifest that is too
    # big, not a length mismatch, so MANIFEST_INVALID describes it; SIZE_INVALID would not.
    errors.ManifestTooLarge: CodeMapping("MANIFEST_INVALID", 413),
    errors.ManifestBlobUnknown: CodeMapping("MANIFEST_BLOB_UNKNOWN"),
    errors.BlobUploadInvalid: CodeMapping("BLOB_UPLOAD_INVALID"),
    errors.RangeInvalid: CodeMapping("RANGE_INVALID", headers=_upload_range),
    errors.RangeNotSatisfiable: CodeMapping("RANGE_INVALID", headers=_content_range),
    errors.PaginationInvalid: CodeMapping("PAGINATION_NUMBER_INVALID"),
    # No registered code says "bad request" in general; clients treat unknown causes as UNKNOWN.
    errors.InvalidInput: CodeMapping("UNKNOWN", 400),
    errors.NameUnknown: CodeMapping("NAME_UNKNOWN"),
    errors.BlobUnknown: CodeMapping("BLOB_UNKNOWN"),
    errors.BlobUploadUnknown: CodeMapping("BLOB_UPLOAD_UNKNOWN"),
    errors.ManifestUnknown: CodeMapping("MANIFEST_UNKNOWN"),
    errors.NotFound: CodeMapping("UNKNOWN", 404),
    errors.Unsupported: CodeMapping("UNSUPPORTED"),
    errors.Unavailable: CodeMapping("UNAVAILABLE"),
    errors.CargoholdError: CodeMapping("UNKNOWN"),
}


def resolve(exc: errors.CargoholdError) -> tuple[ErrorCode, int, dict[str, str]]:
    """The code, HTTP status and extra headers for ``exc`` (its MRO's first mapped class)."""
    for cls in type(exc).__mro__:
        mapping = EXCEPTION_CODES.get(cls)
        if mapping is not None:
            code = ERROR_CODES[mapping.code]
            headers = mapping.headers(exc) if mapping.headers else {}
            return code, mapping.status or code.status, headers
    raise AssertionError("CargoholdError is mapped, so every domain error resolves")


def error_body(code: str, message: str, detail: Any = None) -> bytes:
    """Render one error as the OCI ``{"errors": [...]}`` document."""
    entry = {"code": code, "message": message, "detail": detail}
    return json.dumps({"errors": [entry]}, default=str).encode()


def error_response(
    code: str,
    message: str | None = None,
    detail: Any = None,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A JSON error response for a registered ``code``; aiohttp drops the body for HEAD."""
    registered = ERROR_CODES[code]
    return web.Response(
        status=status or registered.status,
        body=error_body(code, message or registered.message, detail),
        content_type="application/json",
        headers=headers,
    )


def exception_response(exc: errors.CargoholdError) -> web.Response:
    """Render a domain exception through the table."""
    code, status, headers = resolve(exc)
    return error_response(
        code.code, exc.message or code.message, exc.detail, status=status, headers=headers
    )
