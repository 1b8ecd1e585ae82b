"""Blob fetch (GET/HEAD, Range, conditional, redirect) and delete, on both drivers."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from cargohold.manifest import Descriptor
from cargohold.reference import Digest
from cargohold.storage.linkedblobs import LinkedBlobService
from tests.api.conftest import MakeClient
from tests.api.helpers import Client, assert_error, push_blob, sha256

DATA = bytes(range(100))


# In-memory blobs stream through the driver; filesystem blobs go out with sendfile.
@pytest.fixture(params=["inmemory", "filesystem"])
async def any_client(
    request: pytest.FixtureRequest, make_client: MakeClient, tmp_path: Path
) -> Client:
    if request.param == "filesystem":
        return await make_client({"filesystem": {"rootdirectory": str(tmp_path)}})
    return await make_client()


async def test_get_blob(any_client: Client) -> None:
    digest = await push_blob(any_client, "foo", DATA)
    resp = await any_client.get(f"/v2/foo/blobs/{digest}")
    assert resp.status == 200
    assert await resp.read() == DATA
    assert resp.headers["Docker-Content-Digest"] == digest
    assert resp.headers["Content-Length"] == "100"
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["ETag"] == f'"{digest}"'
    assert resp.headers["Cache-Control"] == "max-age=31536000"
    assert resp.headers["Accept-Ranges"] == "bytes"


async def test_head_blob_has_headers_and_no_body(any_client: Client) -> None:
    digest = await push_blob(any_client, "foo", DATA)
    resp = await any_client.head(f"/v2/foo/blobs/{digest}")
    assert resp.status == 200
    assert await resp.read() == b""
    assert resp.headers["Content-Length"] == "100"
    assert resp.headers["Docker-Content-Digest"] == digest


async def test_empty_blob(any_client: Client) -> None:
    digest = await push_blob(any_client, "foo", b"")
    resp = await any_client.get(f"/v2/foo/blobs/{digest}")
    assert resp.status == 200
    assert await resp.read() == b""
    assert resp.headers["Content-Length"] == "0"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=10-19", 10, 19),
        ("bytes=90-", 90, 99),
        ("bytes=-10", 90, 99),
        ("bytes=95-200", 95, 99),
        ("bytes=-200", 0, 99),
        ("bytes=99-99", 99, 99),
        ("BYTES = 5-6", 5, 6),
    ],
)
async def test_range(any_client: Client, header: str, start: int, end: int) -> None:
    digest = await push_blob(any_client, "foo", DATA)
    resp = await any_client.get(f"/v2/foo/blobs/{digest}", headers={"Range": header})
    assert resp.status == 206
    assert await resp.read() == DATA[start : end + 1]
    assert resp.headers["Content-Range"] == f"bytes {start}-{end}/100"
    assert resp.headers["Content-Length"] == str(end - start + 1)
    assert resp.headers["Docker-Content-Digest"] == digest


async def test_range_on_head(any_client: Client) -> None:
    digest = await push_blob(any_client, "foo", DATA)
    resp = await any_client.head(f"/v2/foo/blobs/{digest}", headers={"Range": "bytes=10-19"})
    assert resp.status == 206
    assert resp.headers["Content-Range"] == "bytes 10-19/100"
    assert resp.headers["Content-Length"] == "10"
    assert await resp.read() == b""


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0", "bytes=1000-1"])
async def test_unsatisfiable_range_is_416(any_client: Client, header: str) -> None:
    digest = await push_blob(any_client, "foo", DATA)
    resp = await any_client.get(f"/v2/foo/blobs/{digest}", headers={"Range": header})
    if header == "bytes=1000-1":  # last < first: an invalid spec, ignored
        assert resp.status == 200
        return
    await assert_error(resp, 416, "RANGE_INVALID")
    assert resp.headers["Content-Range"] == "bytes */100"


async def test_any_range_of_an_empty_blob_is_416(client: Client) -> None:
    digest = await push_blob(client, "foo", b"")
    resp = await client.get(f"/v2/foo/blobs/{digest}", headers={"Range": "bytes=0-"})
    await assert_error(resp, 416, "RANGE_INVALID")
    assert resp.headers["Content-Range"] == "bytes */0"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=abc",
        "items=0-1",
        "bytes=5-2",
        "bytes=0-1,5-6",
        "bytes=-",
        "bytes",
        "0-5",
        "bytes=1-2-3",
    ],
)
async def test_malformed_range_is_ignored(any_client: Client, header: str) -> None:
    digest = await push_blob(any_client, "foo", DATA)
    resp = await any_client.get(f"/v2/foo/blobs/{digest}", headers={"Range": header})
    assert resp.status == 200
    assert await resp.read() == DATA
    assert "Content-Range" not in resp.headers


async def test_if_range(client: Client) -> None:
    digest = await push_blob(client, "foo", DATA)
    url = f"/v2/foo/blobs/{digest}"
    resp = await client.get(url, headers={"Range": "bytes=0-1", "If-Range": f'"{digest}"'})
    assert resp.status == 206
    resp = await client.get(url, headers={"Range": "bytes=0-1", "If-Range": '"other"'})
    assert resp.status == 200
    assert await resp.read() == DATA


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_if_none_match(client: Client, method: str) -> None:
    digest = await push_blob(client, "foo", DATA)
    url = f"/v2/foo/blobs/{digest}"
    for value in (f'"{digest}"', digest, f'W/"{digest}"', f'"x", "{digest}"', "*"):
        resp = await client.request(method, url, headers={"If-None-Match": value})
        assert resp.status == 304, value
        assert await resp.read() == b""
        assert resp.headers["ETag"] == f'"{digest}"'
    resp = await client.request(method, url, headers={"If-None-Match": '"other"'})
    assert resp.status == 200


async def test_large_blob_round_trip(any_client: Client) -> None:
    data = os.urandom(21 * 1024 * 1024 + 7)
    digest = await push_blob(any_client, "big/blob", data)
    resp = await any_client.get(f"/v2/big/blob/blobs/{digest}")
    assert resp.status == 200
    h = hashlib.sha256()
    async for chunk in resp.content.iter_chunked(1 << 20):
        h.update(chunk)
    assert f"sha256:{h.hexdigest()}" == digest
    ranged = await any_client.get(
        f"/v2/big/blob/blobs/{digest}", headers={"Range": "bytes=20000000-20000009"}
    )
    assert await ranged.read() == data[20000000:20000010]


async def test_unknown_blob_is_404(client: Client) -> None:
    missing = sha256(b"missing")
    for method in ("GET", "HEAD"):
        resp = await client.request(method, f"/v2/foo/blobs/{missing}")
        assert resp.status == 404
    await assert_error(await client.get(f"/v2/foo/blobs/{missing}"), 404, "BLOB_UNKNOWN")


async def test_blob_is_scoped_to_its_repository(client: Client) -> None:
    digest = await push_blob(client, "foo", DATA)
    await assert_error(await client.get(f"/v2/bar/blobs/{digest}"), 404, "BLOB_UNKNOWN")


@pytest.mark.parametrize(
    "reference",
    [
        "sha256:totallywrong",
        "sha256:" + "A" * 64,
        "sha256:" + "a" * 63,
        "md5:" + "a" * 32,
        "latest",
    ],
)
async def test_bad_digest_is_400(client: Client, reference: str) -> None:
    for method in ("GET", "DELETE"):
        resp = await client.request(method, f"/v2/foo/blobs/{reference}")
        await assert_error(resp, 400, "DIGEST_INVALID")


async def test_delete_blob(client: Client) -> None:
    digest = await push_blob(client, "foo", DATA)
    resp = await client.delete(f"/v2/foo/blobs/{digest}")
    assert resp.status == 202
    assert resp.headers["Docker-Content-Digest"] == digest
    await assert_error(await client.get(f"/v2/foo/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    await assert_error(await client.delete(f"/v2/foo/blobs/{digest}"), 404, "BLOB_UNKNOWN")


async def test_delete_disabled_is_405(make_client: MakeClient) -> None:
    client = await make_client(storage={"delete": {"enabled": False}})
    digest = await push_blob(client, "foo", DATA)
    await assert_error(await client.delete(f"/v2/foo/blobs/{digest}"), 405, "UNSUPPORTED")
    assert (await client.get(f"/v2/foo/blobs/{digest}")).status == 200


async def test_redirect_on_get_only(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = await push_blob(client, "foo", DATA)

    async def redirect_url(self: LinkedBlobService, d: Digest, method: str) -> str | None:
        return f"https://cdn.example/{d}?method={method}"

    monkeypatch.setattr(LinkedBlobService, "redirect_url", redirect_url)
    resp = await client.get(f"/v2/foo/blobs/{digest}", allow_redirects=False)
    assert resp.status == 307
    assert resp.headers["Location"] == f"https://cdn.example/{digest}?method=GET"
    assert resp.headers["Docker-Content-Digest"] == digest
    head = await client.head(f"/v2/foo/blobs/{digest}", allow_redirects=False)
    assert head.status == 200


async def test_filesystem_size_mismatch_falls_back_to_driver(
    fs_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = await push_blob(fs_client, "foo", DATA)

    async def stale_stat(self: LinkedBlobService, d: Digest) -> Descriptor:
        return Descriptor(d, 50)  # e.g. a stale cache entry

    monkeypatch.setattr(LinkedBlobService, "stat", stale_stat)
    resp = await fs_client.get(f"/v2/foo/blobs/{digest}")
    assert resp.status == 200
    assert await resp.read() == DATA[:50]
