"""Resumable blob uploads: bytes stream into ``_uploads/<id>/data`` and are verified before commit.

All upload state lives in storage, so a session survives a restart and can continue on any
replica. The running digest is kept in process only as an optimisation (hashlib state cannot be
serialised): when it is missing or behind, commit re-hashes what is stored.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
import weakref
from collections import OrderedDict
from datetime import UTC, datetime

from cargohold.errors import (
    BlobUnknown,
    BlobUploadUnknown,
    DigestInvalid,
    PathNotFound,
    RangeInvalid,
)
from cargohold.manifest import Descriptor
from cargohold.reference import ALGORITHMS, CANONICAL, Digest, Digester
from cargohold.storage import paths
from cargohold.storage.base import Body, UploadStatus
from cargohold.storage.blobstore import BlobStore
from cargohold.storage.driver.base import StorageDriver
from cargohold.storage.linkedblobs import LinkedBlobService
from cargohold.storage.links import delete_path

_UPLOAD_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class UploadState:
    """Process-wide upload bookkeeping: running digesters (bounded) and per-upload locks."""

    def __init__(self, max_digesters: int = 4096) -> None:
        self._digesters: OrderedDict[str, Digester] = OrderedDict()
        self._max = max_digesters
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def lock(self, upload_id: str) -> asyncio.Lock:
        lock = self._locks.get(upload_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[upload_id] = lock
        return lock

    def digester(self, upload_id: str) -> Digester | None:
        return self._digesters.get(upload_id)

    def keep(self, upload_id: str, digester: Digester) -> None:
        self._digesters[upload_id] = digester
        self._digesters.move_to_end(upload_id)
        while len(self._digesters) > self._max:
            self._digesters.popitem(last=False)

    def forget(self, upload_id: str) -> None:
        self._digesters.pop(upload_id, None)


def parse_started_at(raw: bytes) -> float:
    """Parse an upload's RFC 3339 ``startedat`` file; 0.0 when unreadable."""
    try:
        return datetime.fromisoformat(raw.decode().strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


class Uploads:
    """The UploadService of one repository."""

    def __init__(
        self,
        driver: StorageDriver,
        blobs: BlobStore,
        repository: str,
        linked: LinkedBlobService,
        state: UploadState,
    ) -> None:
        self.driver = driver
        self.blobs = blobs
        self.repository = repository
        self.linked = linked
        self.state = state

    def _check_id(self, upload_id: str) -> None:
        if not _UPLOAD_ID_RE.match(upload_id):
            raise BlobUploadUnknown(
                "blob upload unknown to registry", {"upload_id": upload_id[:100]}
            )

    async def create(self, algorithm: str = CANONICAL) -> UploadStatus:
        upload_id = str(uuid.uuid4())
        now = time.time()
        started = datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")
        await self.driver.put_content(
            paths.upload_started_at(self.repository, upload_id), started.encode()
        )
        writer = await self.driver.writer(paths.upload_data(self.repository, upload_id))
        await writer.close()
        self.state.keep(upload_id, Digester(algorithm if algorithm in ALGORITHMS else CANONICAL))
        return UploadStatus(upload_id, 0, now)

    async def status(self, upload_id: str) -> UploadStatus:
        self._check_id(upload_id)
        try:
            info = await self.driver.stat(paths.upload_data(self.repository, upload_id))
            started = await self.driver.get_content(
                paths.upload_started_at(self.repository, upload_id)
            )
        except PathNotFound:
            raise BlobUploadUnknown(
                "blob upload unknown to registry", {"upload_id": upload_id}
            ) from None
        return UploadStatus(upload_id, info.size, parse_started_at(started))

    async def append(
        self, upload_id: str, body: Body, start: int | None = None, length: int | None = None
    ) -> UploadStatus:
        async with self.state.lock(upload_id):
            return await self._append(upload_id, body, start, length)

    async def _append(
        self, upload_id: str, body: Body, start: int | None, length: int | None
    ) -> UploadStatus:
        current = await self.status(upload_id)
        if start is not None and start != current.offset:
            raise RangeInvalid(
                f"chunk starts at {start} but the upload has {current.offset} bytes",
                {"offset": current.offset},
                size=current.offset,
            )
        digester = self.state.digester(upload_id)
        if digester is not None and digester.offset != current.offset:
            # Another replica (or a crashed request) wrote since we last hashed: re-hash at commit.
            self.state.forget(upload_id)
            digester = None
        writer = await self.driver.writer(paths.upload_data(self.repository, upload_id), True)
        try:
            if length:
                await writer.reserve(length)
            async for chunk in body:
                if digester is not None:
                    digester.update(chunk)
                await writer.write(chunk)
        finally:
            # Persist what arrived even if the client went away: it may resume from there.
            await writer.close()
        if digester is not None and digester.offset != writer.size:
            self.state.forget(upload_id)
        return UploadStatus(upload_id, writer.size, current.started_at)

    async def commit(
        self,
        upload_id: str,
        digest: Digest,
        body: Body | None = None,
        start: int | None = None,
        length: int | None = None,
    ) -> Descriptor:
        async with self.state.lock(upload_id):
            status = (
                await self._append(upload_id, body, start, length)
                if body is not None
                else await self.status(upload_id)
            )
            actual = await self._digest(upload_id, digest.algorithm, status.offset)
            if actual != digest:
                await self._remove(upload_id)
                raise DigestInvalid(
                    f"provided digest {digest} does not match uploaded content ({actual})",
                    {"digest": str(digest)},
                )
            desc = Descriptor(digest, status.offset)
            try:
                existing = await self.blobs.stat(digest)
            except BlobUnknown:
                await self.blobs.adopt(paths.upload_data(self.repository, upload_id), digest)
            else:
                desc = existing
            await self.linked.link(desc)
            await self._remove(upload_id)
            return desc

    async def _digest(self, upload_id: str, algorithm: str, size: int) -> Digest:
        digester = self.state.digester(upload_id)
        if digester is not None and digester.algorithm == algorithm and digester.offset == size:
            return digester.digest()
        # No usable running state (restart, other replica, other algorithm): hash what is stored.
        digester = Digester(algorithm)
        async with await self.driver.reader(
            paths.upload_data(self.repository, upload_id)
        ) as reader:
            async for chunk in reader:
                digester.update(chunk)
        return digester.digest()

    async def cancel(self, upload_id: str) -> None:
        async with self.state.lock(upload_id):
            await self.status(upload_id)
            await self._remove(upload_id)

    async def _remove(self, upload_id: str) -> None:
        self.state.forget(upload_id)
        await delete_path(self.driver, paths.upload_dir(self.repository, upload_id))
