"""In-progress S3 files: ``close`` leaves the upload open, appends cost only their own bytes.

Requests are counted with the SDK's ``before-call`` event on the driver's own client.
"""

from __future__ import annotations

import collections
from typing import Any

import pytest
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError

from cargohold.errors import PathNotFound, StorageError
from cargohold.storage.driver.s3 import S3Driver
from cargohold.storage.driver.s3_progress import sidecar_key
from cargohold.testing.driver_suite import blob, read_all
from cargohold.testing.seaweedfs import SeaweedFS
from tests.storage.driver.conftest import MiB, make_driver, uploads_under


async def count_calls(driver: S3Driver) -> collections.Counter[str]:
    """A live count of the S3 operations ``driver`` sends from now on."""
    calls: collections.Counter[str] = collections.Counter()
    client = await driver.connection.client()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.s3", count)
    return calls


def exists(raw: Any, bucket: str, key: str) -> bool:
    """Whether any object's key starts with ``key``."""
    return bool(raw.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents"))


def has_object(raw: Any, bucket: str, key: str) -> bool:
    try:
        raw.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


async def append(driver: S3Driver, path: str, data: bytes) -> int:
    writer = await driver.writer(path, append=True)
    await writer.write(data)
    await writer.close()
    return writer.size


async def test_chunked_upload_never_copies_and_finalises_on_read(
    s3: S3Driver, raw: Any, seaweedfs: SeaweedFS
) -> None:
    path, key, bucket = "/r/_uploads/u/data", s3.key("/r/_uploads/u/data"), seaweedfs.bucket
    chunks = [blob(7 * MiB + 3, seed=i) for i in range(4)]  # each close leaves a ragged tail
    writer = await s3.writer(path)
    await writer.close()
    calls = await count_calls(s3)
    for i, chunk in enumerate(chunks):
        assert await append(s3, path, chunk) == sum(map(len, chunks[: i + 1]))
        # Still in progress: no object at the key, one open upload, the tail beside it.
        assert not has_object(raw, bucket, key)
        assert has_object(raw, bucket, sidecar_key(key))
        assert uploads_under(raw, bucket, key) == [key]
        assert (await s3.stat(path)).size == sum(map(len, chunks[: i + 1]))
    assert "UploadPartCopy" not in calls
    assert "CompleteMultipartUpload" not in calls
    # 28 MiB of 5 MiB parts: five full parts, whatever the chunks' boundaries.
    assert calls["UploadPart"] == 5
    assert await s3.list("/r/_uploads/u") == [path]
    assert await read_all(await s3.reader(path, 3)) == b"".join(chunks)[3:]
    assert not has_object(raw, bucket, sidecar_key(key))
    assert has_object(raw, bucket, key)
    assert uploads_under(raw, bucket, key) == []
    assert await s3.get_content(path) == b"".join(chunks)


async def test_stat_of_an_in_progress_file_is_two_heads(s3: S3Driver) -> None:
    await append_new(s3, "/p/data", blob(6 * MiB, seed=1))
    calls = await count_calls(s3)
    info = await s3.stat("/p/data")
    assert (info.size, info.is_dir) == (6 * MiB, False)
    assert dict(calls) == {"HeadObject": 2}


async def append_new(driver: S3Driver, path: str, data: bytes) -> None:
    writer = await driver.writer(path)
    await writer.write(data)
    await writer.close()


async def test_listing_shows_in_progress_files_once(s3: S3Driver) -> None:
    await append_new(s3, "/d/up", blob(6 * MiB + 1, seed=2))
    await s3.put_content("/d/file", b"x")
    assert await s3.list("/d") == ["/d/file", "/d/up"]
    walked = [(i.path, i.size, i.is_dir) async for i in s3.walk("/d")]
    assert walked == [("/d/file", 1, False), ("/d/up", 6 * MiB + 1, False)]
    assert (await s3.stat("/d")).is_dir


async def test_small_in_progress_file_reads_and_moves_without_completing(
    s3: S3Driver, raw: Any, seaweedfs: SeaweedFS
) -> None:
    content = blob(1000, seed=3)
    await append_new(s3, "/s/up/data", content)
    calls = await count_calls(s3)
    assert await s3.get_content("/s/up/data") == content
    assert await read_all(await s3.reader("/s/up/data", 10)) == content[10:]
    assert "PutObject" not in calls
    await s3.move("/s/up/data", "/s/blob/data")
    assert await s3.get_content("/s/blob/data") == content
    head = raw.head_object(Bucket=seaweedfs.bucket, Key=s3.key("/s/blob/data"))
    assert head["Metadata"] == {}  # the progress record is not copied along
    with pytest.raises(PathNotFound):
        await s3.stat("/s/up/data")
    assert not exists(raw, seaweedfs.bucket, s3.key("/s/up"))


async def test_move_of_a_large_in_progress_file_copies_once(
    s3: S3Driver, raw: Any, seaweedfs: SeaweedFS
) -> None:
    content = blob(12 * MiB + 5, seed=4)
    await append_new(s3, "/m/up/data", content[: 6 * MiB])
    await append(s3, "/m/up/data", content[6 * MiB :])
    await s3.move("/m/up/data", "/m/blob/data")
    assert await s3.get_content("/m/blob/data") == content
    assert not exists(raw, seaweedfs.bucket, s3.key("/m/up"))
    assert uploads_under(raw, seaweedfs.bucket, s3.key("/m")) == []


async def test_parts_of_a_writer_that_died_are_ignored(
    s3: S3Driver, raw: Any, seaweedfs: SeaweedFS
) -> None:
    path, key, bucket = "/x/data", s3.key("/x/data"), seaweedfs.bucket
    first, second = blob(6 * MiB, seed=5), blob(5 * MiB + 7, seed=6)
    await append_new(s3, path, first)  # part 1 plus a 1 MiB tail
    (upload,) = raw.list_multipart_uploads(Bucket=bucket, Prefix=key)["Uploads"]
    # A writer that died after uploading part 2 but before recording it.
    raw.upload_part(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=2, Body=b"!" * 5 * MiB
    )
    assert (await s3.stat(path)).size == len(first)
    assert await append(s3, path, second) == len(first) + len(second)
    listed = raw.list_parts(Bucket=bucket, Key=key, UploadId=upload["UploadId"])
    numbers = [part["PartNumber"] for part in listed["Parts"]]
    assert 3 in numbers  # number 2 was not reused
    assert await s3.get_content(path) == first + second


async def test_resumed_writer_commits_across_drivers(
    s3: S3Driver, raw: Any, seaweedfs: SeaweedFS, session: AioSession, root: str
) -> None:
    first, second = blob(11 * MiB, seed=7), blob(3 * MiB, seed=8)
    await append_new(s3, "/c/data", first)
    other = make_driver(seaweedfs, session, root)
    try:
        writer = await other.writer("/c/data", append=True)
        assert writer.size == len(first)
        await writer.write(second)
        await writer.commit()
    finally:
        await other.aclose()
    assert await s3.get_content("/c/data") == first + second
    assert not exists(raw, seaweedfs.bucket, sidecar_key(s3.key("/c/data")))
    assert uploads_under(raw, seaweedfs.bucket, s3.key("/c")) == []


async def test_delete_of_an_upload_directory_aborts_and_removes_the_tail(
    s3: S3Driver, raw: Any, seaweedfs: SeaweedFS
) -> None:
    await s3.put_content("/r/_uploads/u/startedat", b"2024-01-01T00:00:00Z")
    await append_new(s3, "/r/_uploads/u/data", blob(7 * MiB, seed=9))
    await append_new(s3, "/r/_uploads/v/data", blob(6 * MiB, seed=10))
    await s3.delete("/r/_uploads/u")
    await s3.delete("/r/_uploads/v/data")  # a file, too
    assert uploads_under(raw, seaweedfs.bucket, s3.key("/r")) == []
    assert not exists(raw, seaweedfs.bucket, s3.key("/r"))
    with pytest.raises(PathNotFound):
        await s3.stat("/r/_uploads")
    with pytest.raises(PathNotFound):
        await s3.delete("/r/_uploads/v/data")


async def test_new_writer_replaces_an_in_progress_file(
    s3: S3Driver, raw: Any, seaweedfs: SeaweedFS
) -> None:
    await append_new(s3, "/n/data", blob(6 * MiB, seed=11))
    await append_new(s3, "/n/data", b"fresh")
    assert uploads_under(raw, seaweedfs.bucket, s3.key("/n")) == []
    assert await s3.get_content("/n/data") == b"fresh"


async def test_a_changed_tail_is_never_spliced(s3: S3Driver) -> None:
    await append_new(s3, "/t/data", b"tail")
    writer = await s3.writer("/t/data", append=True)
    await append_new(s3, "/t/data", b"other")  # another writer replaced it meanwhile
    with pytest.raises(StorageError, match="PreconditionFailed"):
        await writer.write(b"more")
    await writer.close()
    assert await s3.get_content("/t/data") == b"other"
