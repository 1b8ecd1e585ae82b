"""The S3 driver against a real SeaweedFS: the shared driver suite, plus what only S3 has.

One server (``seaweedfs``, tests/conftest.py) serves the whole session; every driver gets its
own ``rootdirectory``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiobotocore.session import AioSession

import cargohold
from cargohold.errors import PathNotFound, StorageError
from cargohold.storage.driver.base import StorageDriver
from cargohold.storage.driver.s3 import S3Driver, from_parameters
from cargohold.testing.driver_suite import DriverSuite, blob, read_all
from cargohold.testing.seaweedfs import SeaweedFS
from tests.storage.driver.conftest import MiB, make_driver, uploads_under


class TestS3Driver(DriverSuite):
    has_stamps = False

    @pytest.fixture
    async def driver(
        self, seaweedfs: SeaweedFS, session: AioSession
    ) -> AsyncIterator[StorageDriver]:
        d = make_driver(seaweedfs, session, f"/suite/{uuid.uuid4().hex[:8]}")
        yield d
        await d.aclose()


async def test_keys_follow_distribution_layout(
    s3: S3Driver, raw: Any, seaweedfs: SeaweedFS, session: AioSession, root: str
) -> None:
    # Distribution's s3 driver stores driver path P at key <rootdirectory without slashes>/P.
    link = "/docker/registry/v2/repositories/library/alpine/_manifests/tags/latest/current/link"
    await s3.put_content(link, b"sha256:" + b"ab" * 32)
    out = raw.get_object(Bucket=seaweedfs.bucket, Key=root.strip("/") + link)
    assert out["Body"].read() == b"sha256:" + b"ab" * 32
    bare = make_driver(seaweedfs, session, "")
    try:
        assert bare.key(link) == link[1:]
        assert await bare.get_content(root + link) == b"sha256:" + b"ab" * 32
    finally:
        await bare.aclose()


async def test_large_multipart_object_and_ranged_reads(
    s3: S3Driver, raw: Any, seaweedfs: SeaweedFS
) -> None:
    content = blob(40 * MiB + 123, seed=7)
    writer = await s3.writer("/big/data")
    for start in range(0, len(content), 3 * MiB + 1):  # odd writes straddle part boundaries
        await writer.write(content[start : start + 3 * MiB + 1])
    assert writer.size == len(content)
    await writer.commit()
    # A multipart ETag ends in "-<parts>": nine parts of 5 MiB (the last one short).
    etag = raw.head_object(Bucket=seaweedfs.bucket, Key=s3.key("/big/data"))["ETag"]
    assert etag.strip('"').endswith("-9")
    assert (await s3.stat("/big/data")).size == len(content)
    for offset in (0, 1, 5 * MiB - 1, 5 * MiB, 23 * MiB + 17, len(content) - 1):
        async with await s3.reader("/big/data", offset) as reader:
            head = await reader.read(64 * 1024)
            assert head == content[offset : offset + len(head)]
            assert head
    assert await read_all(await s3.reader("/big/data", 35 * MiB)) == content[35 * MiB :]
    assert uploads_under(raw, seaweedfs.bucket, s3.key("/big")) == []


_CONTINUE = """
import asyncio, json, sys
from cargohold.storage.driver.s3 import from_parameters
from cargohold.testing.driver_suite import blob

async def main():
    params, path, size = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    driver = from_parameters(params)
    writer = await driver.writer(path, append=True)
    before = writer.size
    await writer.write(blob(size, seed=9))
    await writer.close()
    await driver.aclose()
    print(before, writer.size)

asyncio.run(main())
"""


async def test_append_continues_in_another_process(
    s3: S3Driver, raw: Any, seaweedfs: SeaweedFS, session: AioSession, root: str
) -> None:
    first, third = blob(7 * MiB + 5, seed=8), blob(1000, seed=10)
    second = blob(6 * MiB, seed=9)  # what the child process writes
    writer = await s3.writer("/up/data")
    await writer.write(first)
    await writer.close()
    params = seaweedfs.driver_parameters(rootdirectory=root, chunksize=5 * MiB)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CONTINUE, json.dumps(params), "/up/data", str(6 * MiB),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(cargohold.__file__).parents[1])},
    )  # fmt: skip
    out, _ = await child.communicate()
    assert child.returncode == 0
    assert out.split() == [str(len(first)).encode(), str(len(first) + 6 * MiB).encode()]
    # A new driver instance, like a third replica, finishes the upload.
    other = make_driver(seaweedfs, session, root)
    try:
        writer = await other.writer("/up/data", append=True)
        assert writer.size == len(first) + len(second)
        await writer.write(third)
        await writer.commit()
    finally:
        await other.aclose()
    assert await s3.get_content("/up/data") == first + second + third
    assert uploads_under(raw, seaweedfs.bucket, s3.key("/up")) == []


async def test_cancel_aborts_the_multipart_upload(
    s3: S3Driver, raw: Any, seaweedfs: SeaweedFS
) -> None:
    await s3.put_content("/c/data", blob(6 * MiB, seed=11))
    writer = await s3.writer("/c/data", append=True)
    await writer.write(blob(11 * MiB, seed=12))
    assert uploads_under(raw, seaweedfs.bucket, s3.key("/c/data")) == [s3.key("/c/data")]
    await writer.cancel()
    assert uploads_under(raw, seaweedfs.bucket, s3.key("/c")) == []
    with pytest.raises(PathNotFound):
        await s3.stat("/c/data")


async def test_delete_aborts_uploads_a_crashed_writer_left(
    s3: S3Driver, raw: Any, seaweedfs: SeaweedFS
) -> None:
    await s3.put_content("/_uploads/id/startedat", b"2024-01-01T00:00:00Z")
    key = s3.key("/_uploads/id/data")
    upload = raw.create_multipart_upload(Bucket=seaweedfs.bucket, Key=key)
    raw.upload_part(
        Bucket=seaweedfs.bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"x"
    )
    await s3.delete("/_uploads/id")
    assert uploads_under(raw, seaweedfs.bucket, s3.key("/_uploads")) == []
    with pytest.raises(PathNotFound):
        await s3.list("/_uploads")


async def test_move_uses_multipart_copy_above_threshold(
    seaweedfs: SeaweedFS, session: AioSession, raw: Any, root: str
) -> None:
    d = make_driver(
        seaweedfs, session, root, multipartcopythresholdsize=5 * MiB, multipartcopychunksize=5 * MiB
    )
    try:
        content = blob(12 * MiB + 1, seed=13)
        await d.put_content("/uploads/x/data", content)
        await d.move("/uploads/x/data", "/blobs/ab/data")
        assert await d.get_content("/blobs/ab/data") == content
        etag = raw.head_object(Bucket=seaweedfs.bucket, Key=d.key("/blobs/ab/data"))["ETag"]
        assert etag.strip('"').endswith("-3")
        with pytest.raises(PathNotFound):
            await d.stat("/uploads/x/data")
    finally:
        await d.aclose()


async def test_presigned_redirects(seaweedfs: SeaweedFS, session: AioSession, root: str) -> None:
    d = make_driver(seaweedfs, session, root, redirect_expiry="1m")
    try:
        content = blob(300_000, seed=14)
        await d.put_content("/blobs/data", content)
        get_url = await d.redirect_url("/blobs/data", "GET")
        head_url = await d.redirect_url("/blobs/data", "HEAD")
        assert get_url is not None
        assert head_url is not None
        assert "X-Amz-Expires=60" in get_url
        assert await d.redirect_url("/blobs/data", "PUT") is None
        async with aiohttp.ClientSession() as http:
            async with http.get(get_url) as response:
                assert response.status == 200
                assert await response.read() == content
            async with http.head(head_url) as response:
                assert response.status == 200
                assert response.content_length == len(content)
            async with http.get(head_url) as response:  # signed for HEAD, not GET
                assert response.status == 403
    finally:
        await d.aclose()


async def test_listing_paginates_and_walk_only_lists(s3: S3Driver) -> None:
    names = [f"f{i:04d}" for i in range(1050)]  # more than one 1000-key page
    semaphore = asyncio.Semaphore(32)

    async def put(name: str) -> None:
        async with semaphore:
            await s3.put_content(f"/many/{name}", name.encode())

    await asyncio.gather(*(put(n) for n in names))
    assert await s3.list("/many") == [f"/many/{n}" for n in names]
    calls: list[str] = []
    client = await s3.connection.client()
    client.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    walked = [info.path async for info in s3.walk("/many")]
    assert walked == [f"/many/{n}" for n in names]
    assert calls == ["ListObjectsV2", "ListObjectsV2"]
    await s3.delete("/many")
    with pytest.raises(PathNotFound):
        await s3.stat("/many")


async def test_writer_memory_stays_bounded(s3: S3Driver) -> None:
    # 48 MiB through 5 MiB parts: the writer holds the part filling and the one uploading.
    block = blob(MiB, seed=15)
    await s3.put_content("/mem/warm-up", b"")  # the client and its service model load first
    tracemalloc.start()
    try:
        writer = await s3.writer("/mem/data")
        for i in range(48):
            await writer.write(i.to_bytes(8, "big") + block[8:])
        await writer.commit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Two 5 MiB parts and change (13 MiB measured); one more copy of a part would fail this.
    assert peak < 17 * MiB, peak
    assert (await s3.stat("/mem/data")).size == 48 * MiB


async def test_server_errors_are_storage_errors(
    seaweedfs: SeaweedFS, session: AioSession, root: str
) -> None:
    no_bucket = from_parameters(
        seaweedfs.driver_parameters(bucket="no-such-bucket", rootdirectory=root), session
    )
    bad_key = from_parameters(
        seaweedfs.driver_parameters(secretkey="wrong", rootdirectory=root), session
    )
    try:
        with pytest.raises(StorageError, match="NoSuchBucket") as missing:
            await no_bucket.get_content("/file")
        assert not isinstance(missing.value, PathNotFound)
        with pytest.raises(StorageError) as denied:
            await bad_key.put_content("/file", b"x")
        assert not isinstance(denied.value, PathNotFound)
        assert "wrong" not in str(denied.value)
    finally:
        await no_bucket.aclose()
        await bad_key.aclose()


@pytest.mark.parametrize("size", [100, 6 * MiB])  # read back, or copied server-side
async def test_append_never_splices_a_replaced_object(s3: S3Driver, size: int) -> None:
    await s3.put_content("/f", b"a" * size)
    writer = await s3.writer("/f", append=True)
    await s3.put_content("/f", b"b" * size)  # another writer replaced it meanwhile
    with pytest.raises(StorageError, match="PreconditionFailed"):
        await writer.write(b"more")
    await writer.close()
    assert await s3.get_content("/f") == b"b" * size
