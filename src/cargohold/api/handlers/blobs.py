"""``/v2/<name>/blobs/<digest>``: fetch (GET/HEAD, with Range), and delete."""

from __future__ import annotations

from aiohttp import web

from cargohold.api import context
from cargohold.api.bodies import within_write_timeout
from cargohold.api.conditional import etag, none_match, range_applies
from cargohold.api.ranges import parse_range
from cargohold.api.sendfile import SendfileResponse, close_file, open_regular
from cargohold.manifest import Descriptor
from cargohold.reference import Digest
from cargohold.storage.base import BlobService
from cargohold.storage.driver.base import READ_CHUNK_SIZE

# Blobs are immutable under their digest, so any cache may keep them for a year (RFC 9111 §5.2.2.1).
CACHE_CONTROL = "max-age=31536000"


def _headers(desc: Descriptor) -> dict[str, str]:
    return {
        "Docker-Content-Digest": str(desc.digest),
        "ETag": etag(desc.digest),
        "Cache-Control": CACHE_CONTROL,
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
    }


async def get(request: web.Request) -> web.StreamResponse:
    """Serve a blob: 304 on a matching ETag, 307 to a driver URL, 206 for a Range, else 200."""
    digest = Digest.parse(context.match(request).reference)
    blobs = context.repository(request).blobs
    desc = await blobs.stat(digest)
    headers = _headers(desc)
    if none_match(request, digest):
        return web.Response(status=304, headers=headers)
    if request.method == "GET":
        target = await blobs.redirect_url(digest, "GET")
        if target is not None:
            return web.Response(
                status=307, headers={"Location": target, "Docker-Content-Digest": str(digest)}
            )
    status, offset, count = 200, 0, desc.size
    byte_range = (
        parse_range(request.headers.get("Range"), desc.size)
        if range_applies(request, digest)
        else None
    )
    if byte_range is not None:
        status, offset, count = 206, byte_range.start, byte_range.length
        headers["Content-Range"] = byte_range.content_range()
    headers["Content-Length"] = str(count)
    if request.method == "HEAD":
        return web.Response(status=status, headers=headers)
    sendfile = await _sendfile(
        blobs, desc, offset, count, status, headers, context.settings(request).write_timeout
    )
    if sendfile is not None:
        return sendfile
    return await _stream(request, blobs, desc, offset, count, status, headers)


async def _sendfile(
    blobs: BlobService,
    desc: Descriptor,
    offset: int,
    count: int,
    status: int,
    headers: dict[str, str],
    write_timeout: float,
) -> SendfileResponse | None:
    """A zero-copy response when the driver has an OS path whose size matches the descriptor."""
    path = await blobs.local_path(desc.digest)
    if path is None:
        return None
    opened = await open_regular(path)
    if opened is None:
        return None
    fobj, size = opened
    if size != desc.size:
        close_file(fobj)  # not what was stat'ed (replaced or torn): take the driver path
        return None
    headers.pop("Content-Length")  # SendfileResponse sets it from count
    return SendfileResponse(
        fobj, offset, count, status=status, headers=headers, write_timeout=write_timeout
    )


async def _stream(
    request: web.Request,
    blobs: BlobService,
    desc: Descriptor,
    offset: int,
    count: int,
    status: int,
    headers: dict[str, str],
) -> web.StreamResponse:
    """Copy ``count`` bytes from the driver in bounded chunks."""
    reader = await blobs.open(desc.digest, offset)
    async with reader:
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        remaining = count
        while remaining > 0:
            chunk = await reader.read(min(READ_CHUNK_SIZE, remaining))
            if not chunk:
                # Headers promised more bytes: cut the connection rather than hang the client.
                raise ConnectionResetError(f"blob {desc.digest} ended early")
            await within_write_timeout(request, response.write(chunk[:remaining]))
            remaining -= len(chunk)
        await response.write_eof()
    return response


async def delete(request: web.Request) -> web.StreamResponse:
    """Unlink the blob from the repository: 202 (OCI distribution-spec §Deleting Blobs)."""
    digest = Digest.parse(context.match(request).reference)
    await context.repository(request).blobs.delete(digest)
    return web.Response(status=202, headers={"Docker-Content-Digest": str(digest)})
