"""Blob uploads: sessions, chunks, monolithic pushes, mounts, cancellation and their errors."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
from collections.abc import AsyncIterator

import pytest
from yarl import URL

from cargohold.api import context
from cargohold.errors import PathNotFound
from cargohold.storage import paths
from tests.api.helpers import Client, assert_error, push_blob, sha256

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def start(client: Client, name: str = "foo", query: str = "") -> str:
    """Open a session; return its Location."""
    resp = await client.post(f"/v2/{name}/blobs/uploads/{query}")
    assert resp.status == 202, await resp.text()
    return str(resp.headers["Location"])


def local(location: str) -> str:
    """The path and query of an absolute Location, for the test client."""
    url = URL(location)
    return str(url.relative())


async def upload_dirs(client: Client, name: str) -> list[str]:
    driver = client.app[context.DRIVER]
    try:
        return await driver.list(f"{paths.repository(name)}/_uploads")
    except PathNotFound:
        return []


async def test_start_session(client: Client) -> None:
    resp = await client.post("/v2/foo/blobs/uploads/")
    assert resp.status == 202
    location = URL(resp.headers["Location"])
    assert location.is_absolute()
    assert location.host == "127.0.0.1"
    upload_id = resp.headers["Docker-Upload-UUID"]
    assert UUID_RE.fullmatch(upload_id)
    assert location.path == f"/v2/foo/blobs/uploads/{upload_id}"
    assert resp.headers["Range"] == "0-0"
    assert resp.headers["Content-Length"] == "0"


async def test_post_then_put(client: Client) -> None:
    data = b"monolithic after post"
    location = await start(client)
    digest = sha256(data)
    resp = await client.put(f"{local(location)}?digest={digest}", data=data)
    assert resp.status == 201
    assert resp.headers["Docker-Content-Digest"] == digest
    assert URL(resp.headers["Location"]).path == f"/v2/foo/blobs/{digest}"
    blob = await client.get(URL(resp.headers["Location"]).path)
    assert await blob.read() == data
    await assert_error(await client.get(local(location)), 404, "BLOB_UPLOAD_UNKNOWN")


async def test_chunked_upload(client: Client) -> None:
    chunks = [b"a" * 10, b"b" * 5, b"c" * 7]
    location = await start(client)
    offset = 0
    for chunk in chunks:
        end = offset + len(chunk) - 1
        resp = await client.patch(
            local(location),
            data=chunk,
            headers={
                "Content-Range": f"{offset}-{end}",
                "Content-Type": "application/octet-stream",
            },
        )
        assert resp.status == 202, await resp.text()
        assert resp.headers["Range"] == f"0-{end}"
        assert UUID_RE.fullmatch(resp.headers["Docker-Upload-UUID"])
        location = resp.headers["Location"]
        offset = end + 1
        status = await client.get(local(location))
        assert status.status == 204
        assert status.headers["Range"] == f"0-{end}"
        assert status.headers["Location"] == location
    data = b"".join(chunks)
    resp = await client.put(f"{local(location)}?digest={sha256(data)}")
    assert resp.status == 201
    assert await (await client.get(f"/v2/foo/blobs/{sha256(data)}")).read() == data


async def test_patch_without_content_range_appends(client: Client) -> None:
    location = await start(client)
    for chunk in (b"one", b"two"):
        resp = await client.patch(local(location), data=chunk)
        assert resp.status == 202
    assert resp.headers["Range"] == "0-5"
    resp = await client.put(f"{local(location)}?digest={sha256(b'onetwo')}")
    assert resp.status == 201


async def test_final_chunk_in_put(client: Client) -> None:
    location = await start(client)
    await client.patch(local(location), data=b"head-", headers={"Content-Range": "0-4"})
    digest = sha256(b"head-tail")
    resp = await client.put(
        f"{local(location)}?digest={digest}", data=b"tail", headers={"Content-Range": "5-8"}
    )
    assert resp.status == 201
    assert await (await client.get(f"/v2/foo/blobs/{digest}")).read() == b"head-tail"


@pytest.mark.parametrize("header", ["bytes 0-2/*", "bytes=0-2", "0-2/3"])
async def test_content_range_variants(client: Client, header: str) -> None:
    location = await start(client)
    resp = await client.patch(local(location), data=b"abc", headers={"Content-Range": header})
    assert resp.status == 202
    assert resp.headers["Range"] == "0-2"


@pytest.mark.parametrize("header", ["3-5", "1-3", "10-12"])
async def test_out_of_order_chunk_is_416(client: Client, header: str) -> None:
    location = await start(client)
    await client.patch(local(location), data=b"abc", headers={"Content-Range": "0-2"})
    resp = await client.patch(local(location), data=b"def", headers={"Content-Range": header})
    if header == "3-5":
        assert resp.status == 202
        return
    await assert_error(resp, 416, "RANGE_INVALID")
    assert resp.headers["Range"] == "0-2"
    status = await client.get(local(location))
    assert status.headers["Range"] == "0-2"


async def test_first_chunk_not_at_zero_is_416(client: Client) -> None:
    location = await start(client)
    resp = await client.patch(local(location), data=b"abc", headers={"Content-Range": "1-3"})
    await assert_error(resp, 416, "RANGE_INVALID")
    assert resp.headers["Range"] == "0-0"


@pytest.mark.parametrize("header", ["abc", "5-2", "-3", "0-", "bytes */*"])
async def test_malformed_content_range_is_416(client: Client, header: str) -> None:
    location = await start(client)
    await client.patch(local(location), data=b"ab", headers={"Content-Range": "0-1"})
    resp = await client.patch(local(location), data=b"abc", headers={"Content-Range": header})
    await assert_error(resp, 416, "RANGE_INVALID")
    assert resp.headers["Range"] == "0-1"


async def test_content_range_length_mismatch_is_400(client: Client) -> None:
    location = await start(client)
    resp = await client.patch(local(location), data=b"abcd", headers={"Content-Range": "0-2"})
    await assert_error(resp, 400, "SIZE_INVALID")


async def test_streamed_chunked_body_over_20_mib(client: Client) -> None:
    """A 21 MiB body sent with chunked transfer encoding, never as one buffer."""
    piece = os.urandom(1 << 20)
    expected = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        for i in range(21):
            chunk = bytes([i]) + piece[1:]
            expected.update(chunk)
            yield chunk

    location = await start(client, "big")
    resp = await client.patch(local(location), data=body())
    assert resp.status == 202, await resp.text()
    assert resp.headers["Range"] == f"0-{21 * (1 << 20) - 1}"
    digest = f"sha256:{expected.hexdigest()}"
    resp = await client.put(f"{local(resp.headers['Location'])}?digest={digest}")
    assert resp.status == 201
    head = await client.head(f"/v2/big/blobs/{digest}")
    assert head.headers["Content-Length"] == str(21 * (1 << 20))


async def test_monolithic_post(client: Client) -> None:
    data = b"single post"
    digest = sha256(data)
    resp = await client.post(f"/v2/foo/blobs/uploads/?digest={digest}", data=data)
    assert resp.status == 201
    assert resp.headers["Docker-Content-Digest"] == digest
    assert URL(resp.headers["Location"]).path == f"/v2/foo/blobs/{digest}"
    assert await upload_dirs(client, "foo") == []


async def test_monolithic_digest_mismatch_stores_nothing(client: Client) -> None:
    wrong = sha256(b"something else")
    resp = await client.post(f"/v2/foo/blobs/uploads/?digest={wrong}", data=b"actual")
    await assert_error(resp, 400, "DIGEST_INVALID")
    assert (await client.head(f"/v2/foo/blobs/{wrong}")).status == 404
    assert (await client.head(f"/v2/foo/blobs/{sha256(b'actual')}")).status == 404
    assert await upload_dirs(client, "foo") == []
    driver = client.app[context.DRIVER]
    with pytest.raises(PathNotFound):
        await driver.list(paths.BLOBS)


async def test_put_digest_mismatch_discards_the_upload(client: Client) -> None:
    location = await start(client)
    await client.patch(local(location), data=b"abc")
    wrong = sha256(b"xyz")
    await assert_error(await client.put(f"{local(location)}?digest={wrong}"), 400, "DIGEST_INVALID")
    await assert_error(await client.get(local(location)), 404, "BLOB_UPLOAD_UNKNOWN")
    assert (await client.head(f"/v2/foo/blobs/{sha256(b'abc')}")).status == 404


@pytest.mark.parametrize("query", ["", "?digest=", "?digest=sha256:totallywrong", "?digest=md5:00"])
async def test_put_needs_a_valid_digest_and_keeps_the_session(client: Client, query: str) -> None:
    location = await start(client)
    await client.patch(local(location), data=b"abc")
    await assert_error(await client.put(f"{local(location)}{query}"), 400, "DIGEST_INVALID")
    status = await client.get(local(location))
    assert status.status == 204
    assert status.headers["Range"] == "0-2"


async def test_mount_from(client: Client) -> None:
    digest = await push_blob(client, "source/repo", b"shared layer")
    resp = await client.post(f"/v2/target/blobs/uploads/?mount={digest}&from=source/repo")
    assert resp.status == 201
    assert resp.headers["Docker-Content-Digest"] == digest
    assert URL(resp.headers["Location"]).path == f"/v2/target/blobs/{digest}"
    assert await (await client.get(f"/v2/target/blobs/{digest}")).read() == b"shared layer"


async def test_mount_from_a_repository_without_the_blob_starts_a_session(client: Client) -> None:
    digest = await push_blob(client, "elsewhere", b"layer")
    resp = await client.post(f"/v2/target/blobs/uploads/?mount={digest}&from=source")
    assert resp.status == 202
    assert "/blobs/uploads/" in resp.headers["Location"]
    assert (await client.head(f"/v2/target/blobs/{digest}")).status == 404


async def test_mount_without_from(client: Client) -> None:
    digest = await push_blob(client, "elsewhere", b"layer")
    resp = await client.post(f"/v2/target/blobs/uploads/?mount={digest}")
    assert resp.status == 201
    assert (await client.head(f"/v2/target/blobs/{digest}")).status == 200
    missing = sha256(b"nowhere")
    resp = await client.post(f"/v2/target/blobs/uploads/?mount={missing}")
    assert resp.status == 202


async def test_mount_with_bad_parameters(client: Client) -> None:
    resp = await client.post("/v2/target/blobs/uploads/?mount=sha256:nope&from=source")
    await assert_error(resp, 400, "DIGEST_INVALID")
    digest = sha256(b"x")
    resp = await client.post(f"/v2/target/blobs/uploads/?mount={digest}&from=Bad..Name")
    await assert_error(resp, 400, "NAME_INVALID")


async def test_digest_algorithm(client: Client) -> None:
    location = await start(client, query="?digest-algorithm=sha512")
    data = b"sha512 content"
    digest = f"sha512:{hashlib.sha512(data).hexdigest()}"
    resp = await client.put(f"{local(location)}?digest={digest}", data=data)
    assert resp.status == 201
    assert resp.headers["Docker-Content-Digest"] == digest
    assert await (await client.get(f"/v2/foo/blobs/{digest}")).read() == data


@pytest.mark.parametrize("algorithm", ["md5", "blake3", "SHA256", ""])
async def test_unsupported_digest_algorithm_is_400(client: Client, algorithm: str) -> None:
    resp = await client.post(f"/v2/foo/blobs/uploads/?digest-algorithm={algorithm}")
    await assert_error(resp, 400, "DIGEST_INVALID")


async def test_cancel(client: Client) -> None:
    location = await start(client)
    await client.patch(local(location), data=b"partial")
    resp = await client.delete(local(location))
    assert resp.status == 204
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        resp = await client.request(method, f"{local(location)}?digest={sha256(b'partial')}")
        await assert_error(resp, 404, "BLOB_UPLOAD_UNKNOWN")
    assert await upload_dirs(client, "foo") == []


async def test_status_head(client: Client) -> None:
    location = await start(client)
    resp = await client.head(local(location))
    assert resp.status == 204
    assert resp.headers["Range"] == "0-0"


@pytest.mark.parametrize(
    "upload_id",
    [
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        "%2e%2e",
        "..%2F..%2Fblobs",
        "%2F",
        "a" * 200,
        "x%00y",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "PATCH", "PUT", "DELETE"])
async def test_unknown_or_hostile_upload_ids_are_404(
    client: Client, upload_id: str, method: str
) -> None:
    url = URL(f"/v2/foo/blobs/uploads/{upload_id}?digest={sha256(b'')}", encoded=True)
    resp = await client.request(method, url, data=b"")
    assert resp.status == 404
    if method != "HEAD":
        await assert_error(resp, 404, "BLOB_UPLOAD_UNKNOWN")


async def test_upload_id_of_another_repository_is_unknown(client: Client) -> None:
    location = await start(client, "alpha")
    upload_id = URL(location).name
    resp = await client.get(f"/v2/beta/blobs/uploads/{upload_id}")
    await assert_error(resp, 404, "BLOB_UPLOAD_UNKNOWN")


async def test_body_from_file_object(client: Client) -> None:
    data = os.urandom(3 * (1 << 20) + 3)
    location = await start(client)
    resp = await client.put(f"{local(location)}?digest={sha256(data)}", data=io.BytesIO(data))
    assert resp.status == 201


async def test_client_disconnect_mid_chunk_keeps_what_arrived(client: Client) -> None:
    """A PATCH cut off mid-body leaves the session resumable from the bytes that arrived."""
    location = URL(await start(client))
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        f"PATCH {location.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".encode()
        + b"0123456789"
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    reader.feed_eof()
    status = None
    for _ in range(200):  # the server notices the disconnect asynchronously
        status = await client.get(location.path)
        if status.headers.get("Range") == "0-9":
            break
        await asyncio.sleep(0.01)
    assert status is not None
    assert status.status == 204
    assert status.headers["Range"] == "0-9"
    resp = await client.patch(location.path, data=b"abc", headers={"Content-Range": "10-12"})
    assert resp.status == 202
    assert resp.headers["Range"] == "0-12"
