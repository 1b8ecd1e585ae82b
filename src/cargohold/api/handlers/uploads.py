"""``/v2/<name>/blobs/uploads/[<id>]``: start, mount, stream chunks, finish and cancel uploads.

OCI distribution-spec §Pushing blobs. Bodies are never buffered: ``request.content`` is handed to
storage as an iterator of bounded chunks, so the memory a push costs does not grow with the blob.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

from aiohttp import web

from cargohold.api import context, urls
from cargohold.api.bodies import request_chunks
from cargohold.api.ranges import parse_content_range
from cargohold.errors import (
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    CargoholdError,
    DigestInvalid,
    DigestUnsupported,
    RangeInvalid,
    SizeInvalid,
)
from cargohold.manifest import Descriptor
from cargohold.reference import ALGORITHMS, CANONICAL, Digest, validate_name
from cargohold.storage.base import UploadService, UploadStatus
from cargohold.storage.driver.base import READ_CHUNK_SIZE

# Upload ids are ours (UUIDs); anything outside this alphabet can only be a forgery or a
# traversal attempt, and is unknown by definition. Storage checks again.
_UPLOAD_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")


def _upload_id(request: web.Request) -> str:
    upload_id = context.match(request).reference
    if not _UPLOAD_ID_RE.fullmatch(upload_id):
        raise BlobUploadUnknown("blob upload unknown to registry", {"upload_id": upload_id[:100]})
    return upload_id


def _body(request: web.Request) -> AsyncIterator[bytes]:
    """The request body in bounded chunks; a cut-off or stalled body is BLOB_UPLOAD_INVALID."""
    return request_chunks(request, READ_CHUNK_SIZE, BlobUploadInvalid)


def _progress(request: web.Request, status: UploadStatus, code: int) -> web.Response:
    """A session response: Location to continue at and the bytes received so far."""
    name = context.match(request).name
    return web.Response(
        status=code,
        headers={
            "Location": urls.upload_url(request, name, status.upload_id),
            # OCI distribution-spec: Range is inclusive; an empty upload reports "0-0", as
            # Distribution does, since "0--1" is no range at all.
            "Range": f"0-{max(status.offset - 1, 0)}",
            "Docker-Upload-UUID": status.upload_id,
        },
    )


def _created(request: web.Request, desc: Descriptor) -> web.Response:
    name = context.match(request).name
    return web.Response(
        status=201,
        headers={
            "Location": urls.blob_url(request, name, desc.digest),
            "Docker-Content-Digest": str(desc.digest),
        },
    )


async def _chunk_start(request: web.Request, uploads: UploadService, upload_id: str) -> int | None:
    """The chunk's start offset from ``Content-Range``, None when absent.

    A malformed range or one that is not the next chunk is a 416 carrying the session's current
    Range (OCI distribution-spec §Pushing a blob in chunks); a range whose length disagrees with
    ``Content-Length`` is SIZE_INVALID. Whether the chunk starts at the session's offset is
    checked by storage, under the upload's lock (one status read, not two).
    """
    header = request.headers.get("Content-Range")
    if header is None:
        return None
    chunk = parse_content_range(header)
    length = request.content_length
    if chunk is not None and (length is None or length == chunk.length):
        return chunk.start
    # An error either way; out of order takes precedence over a length mismatch.
    current = await uploads.status(upload_id)
    if chunk is None or chunk.start != current.offset:
        detail = "expected <start>-<end>" if chunk is None else "not the next chunk"
        raise RangeInvalid(
            f"invalid Content-Range {header[:100]!r}: {detail}; the upload has "
            f"{current.offset} bytes",
            {"offset": current.offset},
            size=current.offset,
        )
    raise SizeInvalid(
        f"Content-Range spans {chunk.length} bytes but Content-Length is {length}",
        {"range": header[:100], "length": length},
    )


def _digest_param(request: web.Request) -> Digest:
    raw = request.query.get("digest")
    if not raw:
        raise DigestInvalid("the digest query parameter is required", {"digest": None})
    return Digest.parse(raw)


async def start(request: web.Request) -> web.StreamResponse:
    """POST: monolithic upload (``?digest=``), mount (``?mount=[&from=]``) or a new session."""
    repo = context.repository(request)
    query = request.query
    if "digest" in query:
        return await _monolithic(request, _digest_param(request))
    mount = query.get("mount")
    if mount is not None:
        digest = Digest.parse(mount)
        source = query.get("from")
        if source is not None:
            validate_name(source)
        try:
            desc = await repo.blobs.mount(digest, source or None)
        except BlobUnknown:
            pass  # OCI distribution-spec §Mounting a blob: fall back to a session (202)
        else:
            return _created(request, desc)
    algorithm = query.get("digest-algorithm", CANONICAL)
    if algorithm not in ALGORITHMS:
        raise DigestUnsupported(
            f"unsupported digest algorithm {algorithm[:50]!r}", {"digest-algorithm": algorithm[:50]}
        )
    status = await repo.uploads.create(algorithm)
    return _progress(request, status, 202)


async def _monolithic(request: web.Request, digest: Digest) -> web.StreamResponse:
    """OCI distribution-spec §Single POST: the whole blob in one request, 201 when verified."""
    uploads = context.repository(request).uploads
    status = await uploads.create(digest.algorithm)
    try:
        body = _body(request) if request.body_exists else None
        desc = await uploads.commit(status.upload_id, digest, body, length=request.content_length)
    except Exception:
        # Nobody holds this session's id, so nothing could resume it: remove it now.
        # Already gone after a digest mismatch, which discards the upload itself.
        with contextlib.suppress(CargoholdError):
            await uploads.cancel(status.upload_id)
        raise
    return _created(request, desc)


async def status(request: web.Request) -> web.StreamResponse:
    """GET/HEAD: 204 with the session's Range and Location, so a client can resume."""
    uploads = context.repository(request).uploads
    return _progress(request, await uploads.status(_upload_id(request)), 204)


async def patch(request: web.Request) -> web.StreamResponse:
    """PATCH: append a chunk; 416 with the current Range if it does not start at the offset."""
    upload_id = _upload_id(request)
    uploads = context.repository(request).uploads
    start_at = await _chunk_start(request, uploads, upload_id)
    status = await uploads.append(upload_id, _body(request), start_at, request.content_length)
    return _progress(request, status, 202)


async def put(request: web.Request) -> web.StreamResponse:
    """PUT ``?digest=``: append the optional final chunk, verify and link the blob: 201."""
    upload_id = _upload_id(request)
    uploads = context.repository(request).uploads
    digest = _digest_param(request)
    start_at = await _chunk_start(request, uploads, upload_id)
    body = _body(request) if request.body_exists else None
    desc = await uploads.commit(upload_id, digest, body, start_at, request.content_length)
    return _created(request, desc)


async def cancel(request: web.Request) -> web.StreamResponse:
    """DELETE: discard the session: 204."""
    await context.repository(request).uploads.cancel(_upload_id(request))
    return web.Response(status=204)
