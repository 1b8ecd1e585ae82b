"""Upload bodies over HTTP: Content-Range checks, bodies in small pieces, cut-off large bodies."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator

from yarl import URL

from tests.api.helpers import Client, assert_error, sha256
from tests.api.test_uploads import local, start

# Larger than one read of a request body, so a body spans several reads and writes.
BATCH_SIZE = 1 << 20

_DATA = hashlib.shake_256(b"api-pipeline").digest(2 * BATCH_SIZE + 777)


async def test_wrong_start_and_wrong_length_is_416_not_400(client: Client) -> None:
    location = await start(client)
    await client.patch(local(location), data=b"abc", headers={"Content-Range": "0-2"})
    resp = await client.patch(local(location), data=b"defg", headers={"Content-Range": "7-9"})
    await assert_error(resp, 416, "RANGE_INVALID")
    assert resp.headers["Range"] == "0-2"


async def test_content_range_on_an_unknown_upload_is_404(client: Client) -> None:
    location = URL(await start(client))
    await client.delete(location.path)
    resp = await client.patch(location.path, data=b"abc", headers={"Content-Range": "0-2"})
    await assert_error(resp, 404, "BLOB_UPLOAD_UNKNOWN")


async def test_final_put_chunk_at_the_wrong_offset_is_416(client: Client) -> None:
    location = await start(client)
    await client.patch(local(location), data=b"abc", headers={"Content-Range": "0-2"})
    resp = await client.put(
        f"{local(location)}?digest={sha256(b'abcdef')}",
        data=b"def",
        headers={"Content-Range": "2-4"},
    )
    await assert_error(resp, 416, "RANGE_INVALID")
    assert resp.headers["Range"] == "0-2"


async def test_chunked_encoding_in_many_small_pieces(client: Client) -> None:
    async def body() -> AsyncIterator[bytes]:
        for i in range(0, len(_DATA), 333_333):
            yield _DATA[i : i + 333_333]

    location = await start(client)
    resp = await client.put(f"{local(location)}?digest={sha256(_DATA)}", data=body())
    assert resp.status == 201, await resp.text()


async def test_large_patch_cut_off_keeps_every_byte_and_resumes(client: Client) -> None:
    """A multi-batch PATCH whose client hangs up: every byte that arrived is stored."""
    location = URL(await start(client))
    cut = BATCH_SIZE + 12345
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        f"PATCH {location.path} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {len(_DATA)}\r\n\r\n".encode()
        + _DATA[:cut]
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    reader.feed_eof()
    status = None
    for _ in range(500):  # the server notices the disconnect asynchronously
        status = await client.get(location.path)
        if status.headers.get("Range") == f"0-{cut - 1}":
            break
        await asyncio.sleep(0.01)
    assert status is not None
    assert status.headers["Range"] == f"0-{cut - 1}"
    resp = await client.put(
        f"{location.path}?digest={sha256(_DATA)}",
        data=io.BytesIO(_DATA[cut:]),
        headers={"Content-Range": f"{cut}-{len(_DATA) - 1}"},
    )
    assert resp.status == 201, await resp.text()
