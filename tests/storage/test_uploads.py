"""Upload service: resumable chunks, verification before commit, restart survival."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from cargohold.errors import (
    BlobUnknown,
    BlobUploadUnknown,
    DigestInvalid,
    RangeInvalid,
)
from cargohold.reference import Digest
from cargohold.storage import paths
from cargohold.storage.registry import StorageRegistry, create_registry
from tests.storage.conftest import body, push_blob


async def test_chunked_upload_commits_and_links(registry: StorageRegistry) -> None:
    uploads = registry.repository("a/b").uploads
    status = await uploads.create()
    assert status.offset == 0
    status = await uploads.append(status.upload_id, body(b"hello ", b"wor"), start=0)
    assert status.offset == 9
    assert (await uploads.status(status.upload_id)).offset == 9
    digest = Digest.from_bytes(b"hello world")
    desc = await uploads.commit(status.upload_id, digest, body(b"ld"), start=9)
    assert (desc.digest, desc.size) == (digest, 11)
    blobs = registry.repository("a/b").blobs
    assert (await blobs.stat(digest)).size == 11
    async with await blobs.open(digest, 6) as reader:
        assert b"".join([c async for c in reader]) == b"world"
    with pytest.raises(BlobUploadUnknown):
        await uploads.status(status.upload_id)


async def test_out_of_order_chunk_is_range_invalid_with_offset(registry: StorageRegistry) -> None:
    uploads = registry.repository("r").uploads
    status = await uploads.create()
    await uploads.append(status.upload_id, body(b"12345"))
    with pytest.raises(RangeInvalid) as exc:
        await uploads.append(status.upload_id, body(b"x"), start=3)
    assert exc.value.size == 5
    assert (await uploads.status(status.upload_id)).offset == 5


async def test_digest_mismatch_stores_nothing(registry: StorageRegistry) -> None:
    uploads = registry.repository("r").uploads
    status = await uploads.create()
    wrong = Digest.from_bytes(b"other")
    with pytest.raises(DigestInvalid):
        await uploads.commit(status.upload_id, wrong, body(b"payload"))
    with pytest.raises(BlobUnknown):
        await registry.blobs.stat(Digest.from_bytes(b"payload"))
    with pytest.raises(BlobUnknown):
        await registry.blobs.stat(wrong)
    with pytest.raises(BlobUploadUnknown):
        await uploads.status(status.upload_id)


@pytest.mark.parametrize(
    "upload_id",
    ["", "nope", "../../../etc", "..", "0" * 36, "8F1B3D5E-0000-4000-8000-000000000000", "a/b"],
)
async def test_garbage_upload_ids_are_unknown(registry: StorageRegistry, upload_id: str) -> None:
    uploads = registry.repository("r").uploads
    with pytest.raises(BlobUploadUnknown):
        await uploads.status(upload_id)
    with pytest.raises(BlobUploadUnknown):
        await uploads.append(upload_id, body(b"x"))
    with pytest.raises(BlobUploadUnknown):
        await uploads.cancel(upload_id)


async def test_upload_is_scoped_to_its_repository(registry: StorageRegistry) -> None:
    status = await registry.repository("one").uploads.create()
    with pytest.raises(BlobUploadUnknown):
        await registry.repository("two").uploads.status(status.upload_id)


async def test_upload_survives_restart_by_rehashing(registry: StorageRegistry) -> None:
    uploads = registry.repository("r").uploads
    status = await uploads.create()
    await uploads.append(status.upload_id, body(b"a" * 1000))
    # A new registry over the same driver has no in-process digest state.
    restarted = create_registry(registry.driver, delete_enabled=True, cache=None)
    again = restarted.repository("r").uploads
    assert (await again.status(status.upload_id)).offset == 1000
    await again.append(status.upload_id, body(b"b" * 10), start=1000)
    digest = Digest.from_bytes(b"a" * 1000 + b"b" * 10)
    assert (await again.commit(status.upload_id, digest)).size == 1010


async def test_sha512_upload(registry: StorageRegistry) -> None:
    uploads = registry.repository("r").uploads
    status = await uploads.create("sha512")
    digest = Digest("sha512", hashlib.sha512(b"data").hexdigest())
    desc = await uploads.commit(status.upload_id, digest, body(b"da", b"ta"))
    assert desc.digest == digest
    assert await registry.driver.get_content(paths.blob_data(digest)) == b"data"


async def test_commit_with_other_algorithm_than_hinted(registry: StorageRegistry) -> None:
    uploads = registry.repository("r").uploads
    status = await uploads.create("sha256")
    digest = Digest("sha512", hashlib.sha512(b"data").hexdigest())
    assert (await uploads.commit(status.upload_id, digest, body(b"data"))).digest == digest


async def test_cancel_removes_upload(registry: StorageRegistry) -> None:
    uploads = registry.repository("r").uploads
    status = await uploads.create()
    await uploads.append(status.upload_id, body(b"abc"))
    await uploads.cancel(status.upload_id)
    with pytest.raises(BlobUploadUnknown):
        await uploads.status(status.upload_id)
    with pytest.raises(BlobUploadUnknown):
        await uploads.commit(status.upload_id, Digest.from_bytes(b"abc"))


async def test_client_disconnect_keeps_received_bytes(registry: StorageRegistry) -> None:
    uploads = registry.repository("r").uploads
    status = await uploads.create()

    async def broken() -> object:
        yield b"first-"
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        await uploads.append(status.upload_id, broken())  # type: ignore[arg-type]
    assert (await uploads.status(status.upload_id)).offset == 6
    await uploads.append(status.upload_id, body(b"second"), start=6)
    digest = Digest.from_bytes(b"first-second")
    assert (await uploads.commit(status.upload_id, digest)).size == 12


async def test_concurrent_pushes_of_same_blob_all_succeed(registry: StorageRegistry) -> None:
    data = b"same content" * 1000
    digests = await asyncio.gather(*(push_blob(registry, f"repo{i % 3}", data) for i in range(12)))
    assert len(set(digests)) == 1
    for i in range(3):
        assert (await registry.repository(f"repo{i}").blobs.stat(digests[0])).size == len(data)
    assert await registry.driver.get_content(paths.blob_data(digests[0])) == data


async def test_concurrent_appends_to_one_upload_serialise(registry: StorageRegistry) -> None:
    uploads = registry.repository("r").uploads
    status = await uploads.create()
    results = await asyncio.gather(
        *(uploads.append(status.upload_id, body(b"x" * 10), start=0) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, RangeInvalid) for r in results if isinstance(r, BaseException))
    assert (await uploads.status(status.upload_id)).offset == 10
