"""The S3 driver's streaming writer: multipart parts in the background, an object on close.

``close`` makes the object at the key hold everything written (a single PUT when it is small,
else CompleteMultipartUpload), so ``stat``, readers and ``move`` see it and a writer opened
with ``append`` in *any* process continues from S3 alone. Appending to an object of at least
5 MiB starts a new multipart upload whose first parts are server-side copies of the object
(UploadPartCopy, pinned to its ETag); a smaller object is read back into the first part, as
CNCF Distribution does when its last part is too small. The upload replaces the object
atomically when completed, so readers see the old content until then.

Memory stays bounded: one part fills while at most one earlier part uploads.
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

if TYPE_CHECKING:
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

__all__ = ["S3Writer"]


class S3Writer(FileWriter):
    """Writes one key; an append passes the ``existing`` object's size and ``etag``."""

    def __init__(
        self, conn: S3Connection, path: str, key: str, existing: int = 0, etag: str | None = None
    ) -> None:
        self._conn = conn
        self._path = path
        self._key = key
        self._existing = existing
        self._etag = etag or ""
        self._size = existing
        # A new writer replaces the key on close even if nothing is written; an append
        # writer that wrote nothing leaves it alone.
        self._dirty = etag is None
        self._prepared = existing == 0
        # The part being filled: allocated at its final size, so filling never reallocates.
        self._buffer = bytearray()
        self._fill = 0  # bytes of self._buffer in use
        self._buffer_offset = existing  # object offset of self._buffer[0]
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
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
        """Fold the existing object into this upload: copied parts, or the buffer if small."""
        self._prepared = True
        conn, existing = self._conn, self._existing
        if existing < MIN_PART_SIZE:
            client = await conn.client()
            with s3_errors("read for append", self._path):
                out = await client.get_object(Bucket=conn.bucket, Key=self._key, IfMatch=self._etag)
                async with out["Body"] as body:
                    head = await body.read()
            if len(head) != existing:
                raise StorageError(f"{self._path} changed while appending")
            self._buffer_offset = 0
            self._buffer = bytearray(self._part_size())
            self._buffer[: len(head)] = head
            self._fill = len(head)
            return
        self._upload_id = await conn.create_upload(self._key, self._path)
        base = max(conn.params.chunksize, conn.params.multipartcopychunksize)
        ranges = copy_ranges(existing, base, last=False)
        self._parts = await conn.copy_parts(
            self._key, self._path, self._upload_id, self._key, ranges, etag=self._etag
        )
        self._next_part = len(ranges) + 1

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
        self._parts.append(
            await self._conn.upload_part(self._key, self._path, self._upload_id, number, data)
        )

    async def _wait_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def _fail(self) -> None:
        """After a failed write: close the writer and abort its upload (best effort)."""
        self._closed = True
        await self._discard()

    async def _discard(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        upload_id, self._upload_id = self._upload_id, None
        self._buffer, self._fill = bytearray(), 0
        if upload_id is not None:
            with contextlib.suppress(StorageError):
                await self._conn.abort(self._key, self._path, upload_id)

    async def close(self) -> None:
        """Make the object hold everything written; idempotent. A failure aborts the upload."""
        if self._closed:
            return
        self._closed = True
        if not self._dirty:
            return
        try:
            await self._finish()
        except BaseException:
            await self._discard()
            raise

    async def _finish(self) -> None:
        conn = self._conn
        if self._upload_id is None:
            client = await conn.client()
            with s3_errors("put", self._path):
                await client.put_object(
                    Bucket=conn.bucket, Key=self._key, Body=self._take(), **conn.object_args
                )
            return
        await self._wait_pending()
        if self._fill:
            await self._upload(self._next_part, self._take())
        upload_id, self._upload_id = self._upload_id, None
        parts = sorted(self._parts, key=lambda part: part["PartNumber"])
        await conn.complete(self._key, self._path, upload_id, parts)

    async def commit(self) -> None:
        """Close for good; StorageError if the writer was already closed or cancelled."""
        if self._committed:
            return
        if self._closed:
            raise StorageError(f"commit of a closed writer for {self._path}")
        await self.close()
        self._committed = True

    async def cancel(self) -> None:
        """Abort the upload and delete the object at the key; idempotent."""
        if self._cancelled:
            return
        self._cancelled = self._closed = True
        await self._discard()
        client = await self._conn.client()
        with s3_errors("delete", self._path):
            await client.delete_object(Bucket=self._conn.bucket, Key=self._key)
