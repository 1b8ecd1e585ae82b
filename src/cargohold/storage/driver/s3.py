"""The S3 driver: driver paths are object keys in one bucket, as CNCF Distribution's ``s3``.

A path ``/docker/registry/v2/...`` is the key ``<rootdirectory>/docker/registry/v2/...`` (root
without leading or trailing slashes), so a bucket written by Distribution is readable here and
vice versa. Directories are implied by key prefixes: one exists while a key lies below it.

Costs: ``stat`` is a HEAD (a second for an in-progress file's sidecar, and a single-key listing
for a directory); ``list`` is a delimiter listing and ``list_page`` one that starts at a name
(StartAfter); ``walk`` one paginated listing of the subtree, sorted in memory; ``delete`` a
listing and batched DeleteObjects; ``move`` a server-side copy (multipart above
``multipartcopythresholdsize``) then a delete. A missing key costs reads one more request, for
the sidecar. Writers are in :mod:`.s3_writer`; in-progress files (a writer closed without
``commit``: an open multipart upload and a sidecar) in :mod:`.s3_progress`. Readers and
``move`` of an in-progress file finalise it first, unless all its bytes are in the sidecar.

Some S3-compatible servers (SeaweedFS) keep directory entries that linger in delimiter listings
after their last key is deleted, so ``delete`` of a directory also deletes the ``<dir>/`` keys
of its subtree, deepest first; on S3 proper these keys do not exist and the call is a no-op.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from aiobotocore.session import AioSession
from botocore.exceptions import ClientError

from cargohold.errors import InvalidOffset, PathNotFound, StorageError
from cargohold.storage.driver.base import (
    READ_CHUNK_SIZE,
    FileInfo,
    FileReader,
    FileWriter,
    StorageDriver,
    check_path,
)
from cargohold.storage.driver.s3_client import S3Connection, error_code, s3_errors
from cargohold.storage.driver.s3_params import MAX_PART_SIZE, S3Parameters, parse_parameters
from cargohold.storage.driver.s3_parts import copy_ranges
from cargohold.storage.driver.s3_progress import (
    SIDECAR_SUFFIX,
    Progress,
    base_name,
    finalise,
    head_progress,
    sidecar_key,
)
from cargohold.storage.driver.s3_writer import S3Writer

if TYPE_CHECKING:
    from types_aiobotocore_s3.type_defs import ObjectIdentifierTypeDef

__all__ = ["S3Driver", "S3Parameters", "from_parameters"]

# Keys per ListObjectsV2 page and per DeleteObjects call: both are S3's maxima.
LIST_MAX: Final = 1000

# Module-level names, since ``list`` inside the class body is the method.
_Page = list[tuple[str, int, float]]  # (key, size, mtime) of the objects of one listing page
_Paths = list[str]


class S3Driver(StorageDriver):
    """Stores each driver path as an object; safe for concurrent use by many processes."""

    name = "s3"
    lists_in_bulk = True

    def __init__(self, params: S3Parameters, session: AioSession | None = None) -> None:
        """``session`` is an aiobotocore session to share (tests build many drivers)."""
        self.params = params
        #: The client and multipart calls writers share; tests hook its client's events.
        self.connection = S3Connection(params, session)
        self._prefix = params.key_prefix

    def __repr__(self) -> str:
        return (
            f"S3Driver(bucket={self.params.bucket!r}, rootdirectory={self.params.rootdirectory!r})"
        )

    def key(self, path: str) -> str:
        """The object key of driver path ``path``."""
        return self._prefix + check_path(path)[1:]

    async def aclose(self) -> None:
        await self.connection.aclose()

    async def _head(self, path: str) -> tuple[int, float, str]:
        """Size, modification time and ETag of the object at ``path``; PathNotFound."""
        client = await self.connection.client()
        with s3_errors("stat", path):
            out = await client.head_object(Bucket=self.connection.bucket, Key=self.key(path))
        return out["ContentLength"], out["LastModified"].timestamp(), out["ETag"]

    async def _in_progress(self, path: str) -> Progress:
        """The progress of the in-progress file at ``path``; PathNotFound if there is none."""
        progress = await head_progress(self.connection, self.key(path), path)
        if progress is None:
            raise PathNotFound(f"path not found: {path}")
        return progress

    async def _readable(self, path: str) -> str:
        """The key holding the content of the in-progress file at ``path``, for a reader.

        A file whose bytes are all in its tail is read from the sidecar as it is; one with
        parts is finalised first (see :mod:`.s3_progress`). PathNotFound if there is none.
        """
        key, progress = self.key(path), await self._in_progress(path)
        if not progress.upload_id:
            return sidecar_key(key)
        await finalise(self.connection, key, path, progress)
        return key

    async def get_content(self, path: str) -> bytes:
        """Return the object's bytes; PathNotFound for a missing key (directories included)."""
        try:
            return await self._get(path, self.key(path))
        except PathNotFound:
            return await self._get(path, await self._readable(path))

    async def _get(self, path: str, key: str) -> bytes:
        client = await self.connection.client()
        with s3_errors("get", path):
            out = await client.get_object(Bucket=self.connection.bucket, Key=key)
            async with out["Body"] as body:
                data: bytes = await body.read()
        return data

    async def put_content(self, path: str, content: bytes) -> None:
        """One PutObject: S3 replaces the object atomically."""
        client = await self.connection.client()
        with s3_errors("put", path):
            await client.put_object(
                Bucket=self.connection.bucket,
                Key=self.key(path),
                Body=content,
                **self.connection.object_args,
            )

    async def reader(self, path: str, offset: int = 0) -> FileReader:
        """One GET from ``offset`` whose body streams in bounded reads (one consistent version)."""
        key = self.key(path)
        if offset < 0:
            raise InvalidOffset(f"negative offset {offset} for {path}")
        try:
            return await self._open(path, key, offset)
        except PathNotFound:
            return await self._open(path, await self._readable(path), offset)

    async def _open(self, path: str, key: str, offset: int) -> FileReader:
        client = await self.connection.client()
        extra: dict[str, Any] = {"Range": f"bytes={offset}-"} if offset else {}
        with s3_errors("read", path):
            try:
                out = await client.get_object(Bucket=self.connection.bucket, Key=key, **extra)
            except ClientError as exc:
                # RFC 9110 §15.5.17: 416 means the object exists but ends before the offset.
                if error_code(exc) != "InvalidRange":
                    raise
                return _S3Reader(path, None)
        return _S3Reader(path, out["Body"])

    async def writer(self, path: str, append: bool = False) -> FileWriter:
        """Open a writer; with ``append`` continue the object (PathNotFound if it is missing)."""
        key = self.key(path)
        if not append:
            return S3Writer(self.connection, path, key)
        try:
            size, _, etag = await self._head(path)
        except PathNotFound:
            progress = await self._in_progress(path)
            return S3Writer(self.connection, path, key, progress=progress)
        return S3Writer(self.connection, path, key, existing=size, etag=etag)

    async def stat(self, path: str) -> FileInfo:
        """HEAD the key, else its sidecar (an in-progress file: its parts and tail count);
        if neither exists, a directory exists while any key lies below it."""
        try:
            size, mod_time, _ = await self._head(path)
        except PathNotFound:
            pass
        else:
            return FileInfo(path, size, mod_time, False)
        progress = await head_progress(self.connection, self.key(path), path)
        if progress is not None:
            return FileInfo(path, progress.size, progress.mod_time, False)
        if not await self._has_keys(f"{self.key(path)}/", path):
            raise PathNotFound(f"path not found: {path}")
        return FileInfo(path, 0, 0.0, True)

    async def list(self, path: str) -> _Paths:
        """The sorted direct children, from a delimiter listing; PathNotFound if there are none."""
        return await self.list_page(path)

    async def list_page(self, path: str, start_after: str = "", limit: int | None = None) -> _Paths:
        """Children named after ``start_after``, from a delimiter listing that starts there.

        S3 lists in byte order, where a directory ``a/`` comes after ``a-b/`` and ``a.b/``; a
        limited page therefore reads on until every name that sorts before its last one has
        been listed (see :func:`_settled`), which for most names is at once.
        """
        prefix = f"{self.key(path)}/"
        client = await self.connection.client()
        names: set[str] = set()
        kwargs: dict[str, Any] = {"StartAfter": prefix + start_after} if start_after else {}
        page_keys = LIST_MAX if limit is None else max(1, min(LIST_MAX, limit + 1))
        while True:
            with s3_errors("list", path):
                out = await client.list_objects_v2(
                    Bucket=self.connection.bucket,
                    Prefix=prefix,
                    Delimiter="/",
                    MaxKeys=page_keys,
                    **kwargs,
                )
            listed = [obj["Key"] for obj in out.get("Contents", [])]
            listed += [cp["Prefix"] for cp in out.get("CommonPrefixes", [])]
            for listed_key in listed:
                # A "<dir>/" marker key some servers list for the directory itself is no child.
                name = base_name(listed_key[len(prefix) :].removesuffix("/"))
                if name and name > start_after:
                    names.add(name)
            if not out.get("IsTruncated"):
                break
            if limit is not None and listed and _settled(names, limit, max(listed)[len(prefix) :]):
                break
            kwargs = {"ContinuationToken": out["NextContinuationToken"]}
        if not names and (not start_after or not await self._has_keys(prefix, path)):
            raise PathNotFound(f"path not found: {path}")
        return [f"{path}/{name}" for name in sorted(names)[:limit]]

    async def _has_keys(self, prefix: str, path: str) -> bool:
        client = await self.connection.client()
        with s3_errors("list", path):
            out = await client.list_objects_v2(
                Bucket=self.connection.bucket, Prefix=prefix, MaxKeys=1
            )
        return bool(out.get("Contents"))

    async def _keys_under(self, path: str) -> AsyncIterator[_Page]:
        """Pages of ``(key, size, mtime)`` for every object below ``path``, in key order."""
        prefix = f"{self.key(path)}/"
        client = await self.connection.client()
        kwargs: dict[str, Any] = {}
        while True:
            with s3_errors("list", path):
                out = await client.list_objects_v2(
                    Bucket=self.connection.bucket, Prefix=prefix, MaxKeys=LIST_MAX, **kwargs
                )
            yield [
                (obj["Key"], obj["Size"], obj["LastModified"].timestamp())
                for obj in out.get("Contents", [])
                if not obj["Key"].endswith("/")
            ]
            if not out.get("IsTruncated"):
                return
            kwargs = {"ContinuationToken": out["NextContinuationToken"]}

    async def walk(self, path: str) -> AsyncIterator[FileInfo]:
        """Every file and directory under ``path``, depth-first and sorted, from one listing.

        S3 lists in byte order, where ``a-b`` sorts before ``a/x``; the walk's order compares
        path components, so the listing is sorted in memory (keys only) before yielding.
        """
        cut = len(self.key(path)) + 1
        entries: list[tuple[list[str], int, float]] = []
        sidecars: list[str] = []
        async for page in self._keys_under(path):
            for key, size, mtime in page:
                if key.endswith(SIDECAR_SUFFIX):
                    sidecars.append(key[cut:].removesuffix(SIDECAR_SUFFIX))
                else:
                    entries.append((key[cut:].split("/"), size, mtime))
        # An in-progress file (rare: uploads in flight) is listed as its sidecar; its size
        # takes one HEAD. A completed object at its key wins.
        files = {"/".join(parts) for parts, _, _ in entries}
        for name in sidecars:
            progress = (
                None
                if name in files
                else await head_progress(
                    self.connection, f"{self.key(path)}/{name}", f"{path}/{name}"
                )
            )
            if progress is not None:
                entries.append((name.split("/"), progress.size, progress.mod_time))
        if not entries:
            raise PathNotFound(f"path not found: {path}")
        entries.sort(key=lambda entry: entry[0])
        emitted: list[str] = []  # the directories of the previous file, outermost first
        for parts, size, mtime in entries:
            dirs = parts[:-1]
            common = 0
            while common < min(len(dirs), len(emitted)) and dirs[common] == emitted[common]:
                common += 1
            for depth in range(common, len(dirs)):
                yield FileInfo(f"{path}/{'/'.join(dirs[: depth + 1])}", 0, 0.0, True)
            emitted = dirs
            yield FileInfo(f"{path}/{'/'.join(parts)}", size, mtime, False)

    async def move(self, source: str, dest: str) -> None:
        """Server-side copy to ``dest`` (atomic replace), then delete ``source``; PathNotFound."""
        dest_key = self.key(dest)
        conn, src_key = self.connection, self.key(source)
        client = await conn.client()
        try:
            size, _, etag = await self._head(source)
        except PathNotFound:
            progress = await self._in_progress(source)
            if source == dest:
                return
            if progress.upload_id:
                await finalise(conn, src_key, source, progress)
                size, _, etag = await self._head(source)
            else:
                # All in the tail: the sidecar itself is the content, copied without metadata.
                with s3_errors("copy", source):
                    await client.copy_object(
                        Bucket=conn.bucket,
                        Key=dest_key,
                        CopySource={"Bucket": conn.bucket, "Key": sidecar_key(src_key)},
                        CopySourceIfMatch=progress.etag,
                        MetadataDirective="REPLACE",
                        **conn.object_args,
                    )
                await self._delete_keys([sidecar_key(src_key)], source)
                return
        if source == dest:
            return
        if size <= min(self.params.multipartcopythresholdsize, MAX_PART_SIZE):
            with s3_errors("copy", source):
                await client.copy_object(
                    Bucket=conn.bucket,
                    Key=dest_key,
                    CopySource={"Bucket": conn.bucket, "Key": src_key},
                    CopySourceIfMatch=etag,
                    **conn.object_args,
                )
        else:
            upload_id = await conn.create_upload(dest_key, dest)
            try:
                ranges = copy_ranges(size, self.params.multipartcopychunksize, last=True)
                parts = await conn.copy_parts(dest_key, dest, upload_id, src_key, ranges, etag=etag)
                await conn.complete(dest_key, dest, upload_id, parts)
            except BaseException:
                with contextlib.suppress(StorageError):  # keep the original failure
                    await conn.abort(dest_key, dest, upload_id)
                raise
        # A sidecar left by a finalisation that died before removing it goes too.
        await self._delete_keys([src_key, sidecar_key(src_key)], source)

    async def delete(self, path: str) -> None:
        """Delete the object or in-progress file at ``path``, or every object below it, and
        their multipart uploads; PathNotFound if there is neither."""
        key = self.key(path)
        found = False
        dirs: set[str] = set()
        async for page in self._keys_under(path):
            if not page:
                continue
            found = True
            for obj_key, _, _ in page:
                parent = obj_key.rpartition("/")[0]
                while len(parent) > len(key) and parent not in dirs:
                    dirs.add(parent)
                    parent = parent.rpartition("/")[0]
            await self._delete_keys([k for k, _, _ in page], path)
        if found:
            await self.connection.abort_all(f"{key}/", path)
            # Deepest first: a server with directory entries removes only empty ones.
            markers = [f"{d}/" for d in sorted(dirs, key=lambda d: -d.count("/"))]
            markers.append(f"{key}/")
            for start in range(0, len(markers), LIST_MAX):
                await self._delete_keys(markers[start : start + LIST_MAX], path)
            return
        try:
            await self._head(path)
        except PathNotFound:
            await self._in_progress(path)  # PathNotFound if there is no file either
            # Its upload, and any a crashed writer of this key left.
            await self.connection.abort_all(key, path, exact=True)
        await self._delete_keys([key, sidecar_key(key)], path)

    async def _delete_keys(self, keys: _Paths, path: str) -> None:
        if not keys:
            return
        client = await self.connection.client()
        objects: list[ObjectIdentifierTypeDef] = [{"Key": k} for k in keys]
        with s3_errors("delete", path):
            out = await client.delete_objects(
                Bucket=self.connection.bucket, Delete={"Objects": objects, "Quiet": True}
            )
        errors = [e for e in out.get("Errors", []) if e.get("Code") != "NoSuchKey"]
        if errors:
            first = errors[0]
            raise StorageError(
                f"s3 delete {path}: {len(errors)} key(s) failed, e.g. "
                f"{first.get('Key')}: {first.get('Code')}: {first.get('Message')}"
            )

    async def redirect_url(self, path: str, method: str) -> str | None:
        """A presigned GET or HEAD URL valid for ``redirect_expiry``; None for other methods."""
        operation = {"GET": "get_object", "HEAD": "head_object"}.get(method.upper())
        key = self.key(path)
        if operation is None:
            return None
        client = await self.connection.client()
        with s3_errors("presign", path):
            return await client.generate_presigned_url(
                operation,
                Params={"Bucket": self.connection.bucket, "Key": key},
                ExpiresIn=int(self.params.redirect_expiry),
            )


def _settled(names: set[str], limit: int, listed_up_to: str) -> bool:
    """Whether the first ``limit`` of ``names`` (name order) are final, given every key up to
    ``listed_up_to`` (relative, byte order) was listed.

    A name missing yet sorting before a listed one must be a directory ``w`` whose key ``w/``
    lists after the longer names ``w-...`` and ``w....``; the latest such key belongs to the
    shortest ``w`` followed by "-" or "." in one of the first names.
    """
    if len(names) < limit:
        return False
    boundary = ""
    for name in sorted(names)[:limit]:
        cut = next((i for i, char in enumerate(name) if i and char in "-."), None)
        if cut is not None:
            boundary = max(boundary, f"{name[:cut]}/")
    return listed_up_to >= boundary


class _S3Reader(FileReader):
    """Streams one GET response; ``body`` None reads as empty (offset at or past the end)."""

    def __init__(self, path: str, body: Any) -> None:
        self._path = path
        self._body = body
        self._closed = False

    async def read(self, n: int = READ_CHUNK_SIZE) -> bytes:
        if self._closed:
            raise StorageError(f"read from a closed reader for {self._path}")
        if self._body is None or n <= 0:
            return b""
        with s3_errors("read", self._path):
            chunk: bytes = await self._body.read(n)
        return chunk

    async def aclose(self) -> None:
        self._closed = True
        body, self._body = self._body, None
        if body is not None:
            body.close()


def from_parameters(params: Mapping[str, Any], session: AioSession | None = None) -> S3Driver:
    """Build the driver from ``storage.s3`` parameters; ValueError names a bad key."""
    return S3Driver(parse_parameters(params), session)
