"""The S3 driver's streaming writer: multipart parts in the background, progress on close.

``close`` persists progress without completing (see :mod:`.s3_progress`): full parts stay in the
open multipart upload and the tail goes to the sidecar, so a writer opened with ``append`` in
*any* process continues from S3 alone and each append costs only its own bytes plus re-reading
a tail shorter than one part. ``commit`` completes the upload, so the object appears at the key.

Appending to a completed object of at least 5 MiB starts a multipart upload whose first parts
are server-side copies of it (UploadPartCopy, pinned to its ETag), once; a smaller object is
read back into the first part, as CNCF Distribution does when its last part is too small.
Memory stays bounded: one part fills while at most one earlier part uploads.

One writer at a time per key: OCI clients send an upload's chunks one after the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from typing import TYPE_CHECKING

from cargohold.errors import StorageError
from cargohold.storage.driver.base import FileWriter
from cargohold.storage.driver.s3_client import S3Connection, s3_errors
from cargohold.storage.driver.s3_params import MIN_PART_SIZE
from cargohold.storage.driver.s3_parts import MAX_PARTS, copy_ranges, part_size
from cargohold.storage.driver.s3_progress import (
    Progress,
    head_progress,
    pick_parts,
    progress_metadata,
    read_tail,
    sidecar_key,
)

if TYPE_CHECKING:
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef, ObjectIdentifierTypeDef

__all__ = ["S3Writer"]


class S3Writer(FileWriter):
    """Writes one key: afresh (the default), after a completed object of ``existing`` bytes
    at ``etag``, or resuming the in-progress file ``progress`` describes."""

    def __init__(
        self,
        conn: S3Connection,
        path: str,
        key: str,
        *,
        existing: int = 0,
        etag: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        self._conn = conn
        self._path = path
        self._key = key
        self._etag = etag or ""  # of the completed object appended to
        self._progress = progress
        self._replace = etag is None and progress is None
        self._existing = progress.size if progress is not None else existing
        self._size = self._existing
        # A new writer replaces what is at the key even if nothing is written; an append
        # writer that wrote nothing leaves it alone.
        self._dirty = self._replace
        self._prepared = self._replace
        # The part being filled: allocated at its final size, so filling never reallocates.
        self._buffer = bytearray()
        self._fill = 0  # bytes of self._buffer in use
        self._buffer_offset = 0  # object offset of self._buffer[0]: the bytes in parts
        self._upload_id: str | None = None
        self._created = False  # the upload is this writer's own, referenced by no sidecar yet
        self._numbers: list[int] = []  # the part numbers holding content, ascending
        self._parts: list[CompletedPartTypeDef] = []  # the parts this writer uploaded
        self._next_part = 1
        self._pending: asyncio.Task[None] | None = None
        self._closed = self._committed = self._cancelled = False

    @property
    def size(self) -> int:
        return self._size

    async def write(self, data: bytes) -> None:
        """Append ``data``; full parts upload in the background. StorageError once closed."""
        if self._closed:
            raise StorageError(f"write to a closed writer for {self._path}")
        if not data:
            return
        self._dirty = True
        try:
            if not self._prepared:
                await self._prepare()
            view = memoryview(data)
            while view:
                if not self._buffer:
                    self._buffer = bytearray(self._part_size())
                n = min(len(view), len(self._buffer) - self._fill)
                self._buffer[self._fill : self._fill + n] = view[:n]
                self._fill += n
                view = view[n:]
                if self._fill == len(self._buffer):
                    await self._flush_part()
            self._size += len(data)
        except BaseException:
            await self._fail()
            raise

    async def _prepare(self) -> None:
        """Load what came before: the in-progress tail, or the completed object (copied or read)."""
        self._prepared = True
        if self._progress is not None:
            await self._resume(self._progress)
        elif self._existing < MIN_PART_SIZE:
            client = await self._conn.client()
            with s3_errors("read for append", self._path):
                out = await client.get_object(
                    Bucket=self._conn.bucket, Key=self._key, IfMatch=self._etag
                )
                async with out["Body"] as body:
                    head = await body.read()
            if len(head) != self._existing:
                raise StorageError(f"{self._path} changed while appending")
            self._load(head)
        else:
            conn = self._conn
            self._upload_id = await conn.create_upload(self._key, self._path)
            self._created = True
            base = max(conn.params.chunksize, conn.params.multipartcopychunksize)
            ranges = copy_ranges(self._existing, base, last=False)
            self._parts = await conn.copy_parts(
                self._key, self._path, self._upload_id, self._key, ranges, etag=self._etag
            )
            self._numbers = list(range(1, len(ranges) + 1))
            self._next_part = len(ranges) + 1
            self._buffer_offset = self._existing

    async def _resume(self, progress: Progress) -> None:
        self._buffer_offset = progress.parts_size
        self._numbers = list(progress.numbers)
        if progress.upload_id:
            self._upload_id = progress.upload_id
            # Parts a crashed writer uploaded after the sidecar was written hold no content,
            # but their numbers are never reused: a server may list both uploads of a number.
            last = progress.numbers[-1]
            later = await self._conn.list_parts(self._key, self._path, progress.upload_id, last)
            if later is None:
                raise StorageError(f"{self._path}: its multipart upload is gone")
            self._next_part = max([last, *(p.number for p in later)]) + 1
        self._load(await read_tail(self._conn, self._key, self._path, progress))

    def _load(self, head: bytes) -> None:
        """Put bytes that precede this writer's into the buffer (they may fill a part)."""
        self._buffer = bytearray(max(self._part_size(), len(head)))
        self._buffer[: len(head)] = head
        self._fill = len(head)

    def _part_size(self) -> int:
        return part_size(self._buffer_offset, self._conn.params.chunksize)

    def _take(self) -> io.BytesIO:
        """The filled bytes of the buffer as a request body; the buffer is emptied.

        A BytesIO of its own (not one sharing a ``bytes``) is sent in chunks without the copy
        the HTTP client makes of shared buffers, so each part exists once in memory.
        """
        body = io.BytesIO()
        body.write(memoryview(self._buffer)[: self._fill])
        body.seek(0)
        self._buffer, self._fill = bytearray(), 0
        return body

    async def _flush_part(self) -> None:
        """Upload the full buffer in the background, once the previous part is done."""
        if self._upload_id is None:
            self._upload_id = await self._conn.create_upload(self._key, self._path)
            self._created = True
        await self._wait_pending()
        # Only now copy the part into its request body: at most two parts are ever held, the
        # one uploading and the one filling.
        self._buffer_offset += self._fill
        data = self._take()
        self._pending = asyncio.ensure_future(self._upload(self._next_part, data))
        self._next_part += 1

    async def _upload(self, number: int, data: io.BytesIO) -> None:
        if number > MAX_PARTS:
            raise StorageError(f"{self._path}: more than {MAX_PARTS} parts")
        assert self._upload_id is not None
        part = await self._conn.upload_part(self._key, self._path, self._upload_id, number, data)
        self._parts.append(part)
        self._numbers.append(number)

    async def _wait_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def _fail(self) -> None:
        """After a failure: close the writer, dropping what it did not persist (best effort).

        An upload a sidecar refers to survives: it holds what earlier writers persisted.
        """
        self._closed = True
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        self._buffer, self._fill = bytearray(), 0
        if self._created and self._upload_id is not None:
            self._created = False
            with contextlib.suppress(StorageError):
                await self._conn.abort(self._key, self._path, self._upload_id)

    async def close(self) -> None:
        """Persist everything written, leaving the upload open (see the module); idempotent."""
        if self._closed:
            return
        self._closed = True
        if not self._dirty:
            return
        try:
            await self._wait_pending()
            previous = await self._replaced()
            metadata = progress_metadata(self._upload_id or "", self._numbers, self._buffer_offset)
            client = await self._conn.client()
            with s3_errors("put", self._path):
                await client.put_object(
                    Bucket=self._conn.bucket,
                    Key=sidecar_key(self._key),
                    Body=self._take(),
                    Metadata=metadata,
                    **self._conn.object_args,
                )
            self._created = False  # the sidecar refers to it now
            if self._progress is None:
                # The object at the key would hide the sidecar: it is replaced, or now copied.
                with s3_errors("delete", self._path):
                    await client.delete_object(Bucket=self._conn.bucket, Key=self._key)
            await self._abort_replaced(previous)
        except BaseException:
            await self._fail()
            raise

    async def _replaced(self) -> Progress | None:
        """For a new writer, the in-progress file it replaces (its upload is then aborted)."""
        if not self._replace:
            return None
        return await head_progress(self._conn, self._key, self._path)

    async def _abort_replaced(self, previous: Progress | None) -> None:
        if previous is not None and previous.upload_id not in ("", self._upload_id):
            await self._conn.abort(self._key, self._path, previous.upload_id)

    async def commit(self) -> None:
        """Complete the object at the key; StorageError if already closed or cancelled."""
        if self._committed:
            return
        if self._closed:
            raise StorageError(f"commit of a closed writer for {self._path}")
        self._closed = True
        try:
            await self._complete()
        except BaseException:
            await self._fail()
            raise
        self._committed = True

    async def _complete(self) -> None:
        conn = self._conn
        client = await conn.client()
        await self._wait_pending()
        previous = await self._replaced()
        if self._upload_id is None:
            with s3_errors("put", self._path):
                await client.put_object(
                    Bucket=conn.bucket, Key=self._key, Body=self._take(), **conn.object_args
                )
        else:
            if self._fill:
                await self._upload(self._next_part, self._take())
            parts = await self._earlier_parts() + sorted(
                self._parts, key=lambda part: part["PartNumber"]
            )
            await conn.complete(self._key, self._path, self._upload_id, parts)
        self._created = False
        if self._progress is not None or previous is not None:
            with s3_errors("delete", self._path):
                await client.delete_object(Bucket=conn.bucket, Key=sidecar_key(self._key))
        await self._abort_replaced(previous)

    async def _earlier_parts(self) -> list[CompletedPartTypeDef]:
        """ETags of the parts earlier writers persisted, from ListParts, checked."""
        progress = self._progress
        if progress is None or not progress.numbers:
            return []
        assert self._upload_id is not None
        listed = await self._conn.list_parts(self._key, self._path, self._upload_id)
        if listed is None:
            raise StorageError(f"{self._path}: its multipart upload is gone")
        return pick_parts(self._path, listed, progress)

    async def cancel(self) -> None:
        """Abort the upload(s) and delete the object and sidecar at the key; idempotent."""
        if self._cancelled:
            return
        self._cancelled = True
        self._created = self._created or self._upload_id is not None
        await self._fail()
        previous = await head_progress(self._conn, self._key, self._path)
        await self._abort_replaced(previous)
        client = await self._conn.client()
        keys: list[ObjectIdentifierTypeDef] = [
            {"Key": self._key},
            {"Key": sidecar_key(self._key)},
        ]
        with s3_errors("delete", self._path):
            await client.delete_objects(
                Bucket=self._conn.bucket, Delete={"Objects": keys, "Quiet": True}
            )
