"""In-progress objects: an open multipart upload plus a sidecar object holding its tail.

A writer's ``close`` persists what was written without completing the upload, so the next
append costs only its own bytes (completing on every close would make each append re-copy the
whole object server-side: O(n^2) for a chunked upload). The state lives in S3 alone, so any
process can resume it:

- full parts stay uploaded in the open multipart upload of the key;
- the bytes after the last full part (less than one part) are the body of the *sidecar*
  ``<key>!tail``, whose metadata names the upload, the part numbers that hold content and their
  total size. ``!`` cannot occur in a driver path, so no path collides with a sidecar, and
  listings show a sidecar as the file it stands for. ``!`` sorts before every character a path
  may hold, so in a listing's byte order a sidecar comes right after its key would, before any
  longer sibling name: listings in name order stay exact across page boundaries.

The sidecar is written last, so it is the commit point of a ``close``: parts a crashed writer
uploaded after it are ignored (and their numbers never reused, since some servers list every
upload of a part number). The object at the key, when it exists, is the content; only without
it does the sidecar describe an in-progress file. Finalising uploads the tail as the last part,
completes the upload, and deletes the sidecar.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from cargohold.errors import PathNotFound, StorageError
from cargohold.storage.driver.s3_client import Part, S3Connection, s3_errors
from cargohold.storage.driver.s3_parts import decode_numbers, encode_numbers

if TYPE_CHECKING:
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

__all__ = [
    "SIDECAR_SUFFIX",
    "Progress",
    "base_name",
    "finalise",
    "head_progress",
    "progress_metadata",
    "read_tail",
    "sidecar_key",
]

SIDECAR_SUFFIX: Final = "!tail"
# User metadata of a sidecar (S3 lower-cases the names).
_UPLOAD: Final = "cargohold-upload-id"
_PARTS: Final = "cargohold-parts"
_SIZE: Final = "cargohold-parts-size"


def sidecar_key(key: str) -> str:
    """The key of the sidecar of ``key``."""
    return key + SIDECAR_SUFFIX


def base_name(name: str) -> str:
    """The name a listed key or name stands for: a sidecar's stands for its file."""
    return name.removesuffix(SIDECAR_SUFFIX)


def progress_metadata(upload_id: str, numbers: list[int], parts_size: int) -> dict[str, str]:
    """The sidecar metadata for an upload whose parts ``numbers`` hold ``parts_size`` bytes."""
    return {_UPLOAD: upload_id, _PARTS: encode_numbers(numbers), _SIZE: str(parts_size)}


@dataclass(frozen=True, slots=True)
class Progress:
    """What a sidecar says: ``upload_id`` is empty while every byte is in the tail."""

    upload_id: str
    numbers: tuple[int, ...]
    parts_size: int
    tail_size: int
    etag: str  # of the sidecar, to read its tail only as it was described
    mod_time: float

    @property
    def size(self) -> int:
        """The file's size: its parts and its tail."""
        return self.parts_size + self.tail_size


async def head_progress(conn: S3Connection, key: str, path: str) -> Progress | None:
    """The in-progress state of ``key`` from its sidecar, or None if it has none."""
    client = await conn.client()
    try:
        with s3_errors("stat", path):
            out = await client.head_object(Bucket=conn.bucket, Key=sidecar_key(key))
    except PathNotFound:
        return None
    meta = out.get("Metadata", {})
    try:
        numbers = tuple(decode_numbers(meta.get(_PARTS, "")))
        parts_size = int(meta.get(_SIZE, "0"))
    except ValueError as exc:
        raise StorageError(f"s3 stat {path}: unreadable progress record: {exc}") from None
    upload_id = meta.get(_UPLOAD, "")
    if bool(upload_id) != bool(numbers) or parts_size < 0:
        raise StorageError(f"s3 stat {path}: inconsistent progress record {meta}")
    return Progress(
        upload_id,
        numbers,
        parts_size,
        out["ContentLength"],
        out["ETag"],
        out["LastModified"].timestamp(),
    )


async def read_tail(conn: S3Connection, key: str, path: str, progress: Progress) -> bytes:
    """The sidecar's bytes as ``progress`` described them; StorageError if it changed since."""
    if not progress.tail_size:
        return b""
    client = await conn.client()
    with s3_errors("read tail", path):
        out = await client.get_object(
            Bucket=conn.bucket, Key=sidecar_key(key), IfMatch=progress.etag
        )
        async with out["Body"] as body:
            tail: bytes = await body.read()
    if len(tail) != progress.tail_size:
        raise StorageError(f"{path} changed while reading its tail")
    return tail


def pick_parts(path: str, listed: list[Part], progress: Progress) -> list[CompletedPartTypeDef]:
    """The listed parts ``progress`` counts, checked against its record; StorageError if not."""
    by_number: dict[int, set[tuple[str, int]]] = {}
    for part in listed:
        by_number.setdefault(part.number, set()).add((part.etag, part.size))
    chosen: list[CompletedPartTypeDef] = []
    total = 0
    for number in progress.numbers:
        entries = by_number.get(number, set())
        # Repeats of one request (SDK retries) list identically; anything else is not ours.
        if len(entries) != 1:
            raise StorageError(f"{path}: part {number} is missing or ambiguous ({len(entries)})")
        ((etag, size),) = entries
        chosen.append({"PartNumber": number, "ETag": etag})
        total += size
    if total != progress.parts_size:
        raise StorageError(f"{path}: parts hold {total} bytes, expected {progress.parts_size}")
    return chosen


async def finalise(conn: S3Connection, key: str, path: str, progress: Progress) -> None:
    """Complete the in-progress file at ``key``: tail as the last part, then the sidecar goes.

    A file with no parts becomes one PUT of its tail. If the upload is gone because another
    process finalised it meanwhile, the object it left counts. PathNotFound if neither exists.
    """
    client = await conn.client()
    if not progress.upload_id:
        tail = await read_tail(conn, key, path, progress)
        with s3_errors("put", path):
            await client.put_object(Bucket=conn.bucket, Key=key, Body=tail, **conn.object_args)
    else:
        listed = await conn.list_parts(key, path, progress.upload_id)
        done = False
        if listed is not None:
            parts = pick_parts(path, listed, progress)
            if progress.tail_size:
                tail = await read_tail(conn, key, path, progress)
                number = max(part.number for part in listed) + 1
                parts.append(
                    await conn.upload_part(key, path, progress.upload_id, number, io.BytesIO(tail))
                )
            done = await conn.complete(key, path, progress.upload_id, parts, missing_ok=True)
        if not done:
            try:
                with s3_errors("stat", path):
                    await client.head_object(Bucket=conn.bucket, Key=key)
            except PathNotFound:
                raise StorageError(f"{path}: its multipart upload is gone") from None
    with s3_errors("delete", path):
        await client.delete_object(Bucket=conn.bucket, Key=sidecar_key(key))
