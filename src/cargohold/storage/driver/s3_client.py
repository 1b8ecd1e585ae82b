"""The S3 connection the driver and its writers share: client lifecycle, errors, multipart calls.

Built on aiobotocore because it exposes every call the driver needs (UploadPart, UploadPartCopy,
ListMultipartUploads, presigning) with aiohttp underneath. Every call has a connect and a read
timeout and a bounded number of retries. SDK and transport errors become ``StorageError``; a
missing key becomes ``PathNotFound``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import BotoCoreError, ClientError

from cargohold.errors import CargoholdError, PathNotFound, StorageError
from cargohold.storage.driver.s3_params import S3Parameters

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

__all__ = ["CONNECT_TIMEOUT", "READ_TIMEOUT", "Part", "S3Connection", "s3_errors"]

T = TypeVar("T")

#: Seconds to establish a connection, and to wait for any response bytes (also mid-body).
CONNECT_TIMEOUT: Final = 10.0
# Generous: a server answers a large UploadPartCopy only when the copy is done.
READ_TIMEOUT: Final = 120.0
MAX_ATTEMPTS: Final = 4
MAX_CONNECTIONS: Final = 64

# Codes meaning "no such key"; a HEAD has no body, so only its status says 404.
_NOT_FOUND_CODES: Final = frozenset({"NoSuchKey", "NotFound", "404"})
_GONE_CODES: Final = _NOT_FOUND_CODES | {"NoSuchUpload"}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def s3_errors(action: str, path: str) -> Iterator[None]:
    """Translate SDK and transport failures of ``action`` on ``path`` into domain errors."""
    try:
        yield
    except CargoholdError:
        raise
    except ClientError as exc:
        code = error_code(exc)
        if code in _NOT_FOUND_CODES:
            raise PathNotFound(f"path not found: {path}") from exc
        message = exc.response.get("Error", {}).get("Message", "") or str(exc)
        raise StorageError(f"s3 {action} {path}: {code}: {message}") from exc
    except (BotoCoreError, aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise StorageError(f"s3 {action} {path}: {exc}") from exc


class Part(NamedTuple):
    """One uploaded part of a multipart upload, as ListParts reports it."""

    number: int
    etag: str
    size: int


class S3Connection:
    """One bucket's client, created on first use in the running event loop; ``aclose`` ends it."""

    def __init__(self, params: S3Parameters, session: AioSession | None = None) -> None:
        """``session`` lets many connections share one SDK session (its parsed service models)."""
        self.params = params
        self.bucket = params.bucket
        self._session = session
        self._client: S3Client | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._lock: asyncio.Lock | None = None
        # Values are Any: the stubs type each as a Literal, and these come validated from config.
        self.object_args: dict[str, Any] = {"ContentType": "application/octet-stream"}
        if params.storageclass != "NONE":
            self.object_args["StorageClass"] = params.storageclass
        if params.encrypt:
            self.object_args["ServerSideEncryption"] = "aws:kms" if params.keyid else "AES256"
            if params.keyid:
                self.object_args["SSEKMSKeyId"] = params.keyid
        if params.objectacl:
            self.object_args["ACL"] = params.objectacl

    def _config(self) -> AioConfig:
        p = self.params
        return AioConfig(
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
            max_pool_connections=MAX_CONNECTIONS,
            signature_version="s3v4" if p.v4auth else "s3",
            s3={
                "addressing_style": "path" if p.forcepathstyle else "auto",
                "use_accelerate_endpoint": p.accelerate,
                "use_dualstack_endpoint": p.usedualstack,
            },
            use_fips_endpoint=p.usefipsendpoint,
            user_agent_extra=p.useragent or None,
            # Checksums only where the API requires them: many S3-compatible servers reject
            # the SDK's newer default trailing checksums.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )

    async def client(self) -> S3Client:
        """The client, created on first call; static keys if configured, else the SDK's chain."""
        if self._client is not None:
            return self._client
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._client is None:
                p = self.params
                stack = contextlib.AsyncExitStack()
                creator = (self._session or AioSession()).create_client(
                    "s3",
                    region_name=p.region,
                    endpoint_url=p.endpoint_url,
                    use_ssl=p.secure,
                    verify=not p.skipverify,
                    aws_access_key_id=p.accesskey or None,
                    aws_secret_access_key=p.secretkey or None,
                    config=self._config(),
                )
                self._client = await stack.enter_async_context(creator)
                self._stack = stack
        return self._client

    async def aclose(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    # -- multipart primitives ---------------------------------------------------------------

    async def create_upload(self, key: str, path: str) -> str:
        client = await self.client()
        with s3_errors("create multipart upload", path):
            out = await client.create_multipart_upload(
                Bucket=self.bucket, Key=key, **self.object_args
            )
        return out["UploadId"]

    async def upload_part(
        self, key: str, path: str, upload_id: str, number: int, data: io.BytesIO
    ) -> CompletedPartTypeDef:
        client = await self.client()
        with s3_errors(f"upload part {number}", path):
            out = await client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )
        return {"ETag": out["ETag"], "PartNumber": number}

    async def copy_parts(
        self,
        key: str,
        path: str,
        upload_id: str,
        source_key: str,
        ranges: Sequence[tuple[int, int]],
        *,
        etag: str,
        first: int = 1,
    ) -> list[CompletedPartTypeDef]:
        """Copy byte ``ranges`` of ``source_key`` (as it is at ``etag``) into consecutive parts."""
        client = await self.client()

        async def copy(number: int, start: int, end: int) -> CompletedPartTypeDef:
            with s3_errors(f"copy part {number}", path):
                out = await client.upload_part_copy(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": self.bucket, "Key": source_key},
                    CopySourceRange=f"bytes={start}-{end - 1}",
                    CopySourceIfMatch=etag,
                )
            return {"ETag": out["CopyPartResult"]["ETag"], "PartNumber": number}

        calls = [(lambda n=first + i, s=s, e=e: copy(n, s, e)) for i, (s, e) in enumerate(ranges)]
        return await bounded_gather(calls, self.params.multipartcopymaxconcurrency)

    async def complete(
        self,
        key: str,
        path: str,
        upload_id: str,
        parts: list[CompletedPartTypeDef],
        *,
        missing_ok: bool = False,
    ) -> bool:
        """Complete an upload; with ``missing_ok`` False (not an error) when it no longer exists."""
        client = await self.client()
        with s3_errors("complete multipart upload", path):
            try:
                await client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            except ClientError as exc:
                if not (missing_ok and error_code(exc) in _GONE_CODES):
                    raise
                return False
        return True

    async def list_parts(
        self, key: str, path: str, upload_id: str, after: int = 0
    ) -> list[Part] | None:
        """The uploaded parts numbered above ``after``, ascending; None if the upload is gone.

        Some servers (SeaweedFS) list every upload of a reused part number, so a number may
        appear more than once; writers never reuse one, retries of a request aside.
        """
        client = await self.client()
        parts: list[Part] = []
        marker = after
        while True:
            with s3_errors("list parts", path):
                try:
                    out = await client.list_parts(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
                    )
                except ClientError as exc:
                    if error_code(exc) not in _GONE_CODES:
                        raise
                    return None
            parts.extend(Part(p["PartNumber"], p["ETag"], p["Size"]) for p in out.get("Parts", []))
            if not out.get("IsTruncated") or not out.get("NextPartNumberMarker"):
                return parts
            marker = out["NextPartNumberMarker"]

    async def abort(self, key: str, path: str, upload_id: str) -> None:
        """Abort an upload; one that is already gone counts as aborted."""
        client = await self.client()
        with s3_errors("abort multipart upload", path):
            try:
                await client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except ClientError as exc:
                if error_code(exc) not in _GONE_CODES:
                    raise

    async def abort_all(self, prefix: str, path: str, *, exact: bool = False) -> int:
        """Abort every in-progress multipart upload of a key under ``prefix`` (with ``exact``,
        of the key ``prefix`` only); return how many."""
        client = await self.client()
        aborted = 0
        kwargs: dict[str, Any] = {}
        while True:
            with s3_errors("list multipart uploads", path):
                out = await client.list_multipart_uploads(
                    Bucket=self.bucket, Prefix=prefix, **kwargs
                )
            for upload in out.get("Uploads", []):
                if exact and upload["Key"] != prefix:
                    continue
                await self.abort(upload["Key"], path, upload["UploadId"])
                aborted += 1
            if not out.get("IsTruncated"):
                return aborted
            kwargs = {
                "KeyMarker": out.get("NextKeyMarker", ""),
                "UploadIdMarker": out.get("NextUploadIdMarker", ""),
            }


async def bounded_gather(calls: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Run ``calls`` with at most ``limit`` at a time; results in order, first failure cancels."""
    semaphore = asyncio.Semaphore(limit)

    async def run(call: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await call()

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(run(call)) for call in calls]
    except BaseExceptionGroup as failed:
        # Callers translate and catch single domain errors, not groups.
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]
