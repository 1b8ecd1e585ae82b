"""The filesystem driver: driver paths map onto a directory tree, as in CNCF Distribution.

A driver path ``/docker/registry/v2/...`` is the file ``<rootdirectory>/docker/registry/v2/...``,
so a root written by Distribution's filesystem driver is readable here and vice versa. Every
blocking syscall of one operation runs in a single hop on a bounded thread pool (``_fsops``).
"""

from __future__ import annotations

import asyncio
import bisect
import builtins
import contextlib
import mmap
import os
import threading
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from cargohold.errors import InvalidOffset, PathNotFound, StorageError
from cargohold.storage.driver import _fsops
from cargohold.storage.driver._aligned import ALIGN, BufferPool
from cargohold.storage.driver._batching import HopBatcher
from cargohold.storage.driver._fsops import TEMP_PREFIX
from cargohold.storage.driver.base import (
    READ_CHUNK_SIZE,
    FileInfo,
    FileReader,
    FileWriter,
    StorageDriver,
    check_path,
)
from cargohold.storage.driver.stamped import StampedCache

__all__ = [
    "CACHED_LISTING_MIN",
    "TEMP_PREFIX",
    "WRITE_BUFFER_SIZE",
    "FilesystemDriver",
    "from_parameters",
]

T = TypeVar("T")

# Writers stage this much before a disk hop, so a stream of small chunks costs few hops; with one
# buffer filling while another is written, an upload holds two.
WRITE_BUFFER_SIZE = 2 << 20
# Staging buffers kept for reuse by the next uploads (each WRITE_BUFFER_SIZE).
SPARE_BUFFERS = 16
#: How far ahead of the writes a writer allocates announced bytes (``FileWriter.reserve``) at
#: most: few calls per blob. Never further ahead than the writer has written, either, so a client
#: that announces much and sends little holds at most twice what it sent.
RESERVE_AHEAD = 64 << 20
# Directories with at least this many entries keep their sorted listing (smaller ones are cheaper
# to scan than to stat and look up), at most this many of them.
CACHED_LISTING_MIN = 256
LISTING_CACHE_SIZE = 256


class FilesystemDriver(StorageDriver):
    """Stores each driver path as a file under ``rootdirectory`` (created on first write).

    ``put_content`` writes a temporary file in the target directory, fsyncs it and renames it
    over the target, so readers and crashes see the old or the new content, never a mix.
    Writing where the tree holds the other kind (a file under a file, a file over a directory)
    raises InvalidPath; other OS failures raise StorageError.
    """

    name = "filesystem"

    def __init__(
        self, rootdirectory: str, maxthreads: int = 100, *, directwrites: bool = False
    ) -> None:
        if not rootdirectory:
            raise ValueError("filesystem driver: rootdirectory must not be empty")
        if maxthreads < 1:
            raise ValueError(f"filesystem driver: maxthreads must be positive, got {maxthreads}")
        self.rootdirectory = os.path.abspath(rootdirectory)
        self.maxthreads = maxthreads
        # Without the trailing separator a root of "/" joins as "/docker/...", not "//docker".
        self._prefix = self.rootdirectory.rstrip(os.sep)
        self._executor = ThreadPoolExecutor(maxthreads, thread_name_prefix="cargohold-fs")
        # Sorted listings of large directories, shared by the pool's threads.
        self._listings: StampedCache[str, list[str]] = StampedCache(LISTING_CACHE_SIZE)
        self._listings_lock = threading.Lock()
        self._batcher = HopBatcher(self._executor)
        self.directwrites = directwrites
        self._buffers = BufferPool(WRITE_BUFFER_SIZE, SPARE_BUFFERS)

    def __repr__(self) -> str:
        return f"FilesystemDriver(rootdirectory={self.rootdirectory!r})"

    def _full(self, path: str) -> str:
        return self._prefix + check_path(path)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _run_small(self, fn: Callable[..., T], *args: Any) -> T:
        """``_run`` for quick metadata calls (stat, links, listings), batched with their peers."""
        return await self._batcher.run(fn, *args)

    async def _run_owned(self, fn: Callable[..., T], release: Callable[[T], None], *args: Any) -> T:
        """``_run`` for calls that open a resource: if the caller is cancelled while the thread
        still runs, the resource is released when it arrives instead of leaking."""
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:

            def on_done(f: asyncio.Future[T]) -> None:
                if f.cancelled() or f.exception() is not None:
                    return
                try:
                    self._executor.submit(release, f.result())
                except RuntimeError:  # the pool is shut down: release inline, it is cheap
                    release(f.result())

            future.add_done_callback(on_done)
            raise

    async def get_content(self, path: str) -> bytes:
        """Return the file's bytes; PathNotFound for a missing path or a directory."""
        return await self._run_small(_fsops.get, path, self._full(path))

    async def get_many(self, paths: Sequence[str]) -> list[bytes | None]:
        """All the files in one executor hop: a tags list reads its links at local-disk speed."""
        return await self._run_small(_fsops.get_many, [(p, self._full(p)) for p in paths])

    async def put_content(self, path: str, content: bytes) -> None:
        """Atomically replace ``path`` (temp file, fsync, rename), creating parents."""
        await self._run(_fsops.put, path, self._full(path), content)

    async def reader(self, path: str, offset: int = 0) -> FileReader:
        """Open ``path`` at ``offset`` now; an offset past the end reads as empty."""
        full = self._full(path)
        if offset < 0:
            raise InvalidOffset(f"negative offset {offset} for {path}")
        fd = await self._run_owned(_fsops.open_reader, os.close, path, full, offset)
        return _FilesystemReader(self, fd)

    async def writer(self, path: str, append: bool = False) -> FileWriter:
        """Open a staging writer; truncates unless ``append`` (which needs an existing file).

        With ``directwrites`` whole blocks bypass the page cache where the filesystem supports
        ``O_DIRECT``: no copy into cache pages, no dirty pages for the commit's fsync to wait for,
        no eviction of what pulls are reading; but the first pull of the blob reads the disk.
        """
        full = self._full(path)

        def release(opened: tuple[int, int | None, int]) -> None:
            os.close(opened[0])
            if opened[1] is not None:
                os.close(opened[1])

        fd, direct, size = await self._run_owned(
            _fsops.open_writer, release, path, full, append, self.directwrites
        )
        return _FilesystemWriter(self, path, full, fd, direct, size)

    async def stat(self, path: str) -> FileInfo:
        """Return size (0 for directories), mtime and kind; PathNotFound if absent."""
        return await self._run_small(_fsops.stat, path, self._full(path))

    async def list(self, path: str) -> list[str]:
        """Return the sorted full paths of the direct children; PathNotFound for a file."""
        names = await self._run_small(self._sorted_names, path, self._full(path))
        return [f"{path}/{name}" for name in names]

    async def list_page(
        self, path: str, start_after: str = "", limit: int | None = None
    ) -> builtins.list[str]:
        """Children after ``start_after`` from the cached listing: a catalog page of a large
        ``repositories/`` costs a stat and a bisect, not a scan of every repository."""
        names = await self._run_small(self._sorted_names, path, self._full(path))
        return _page(path, names, start_after, limit)

    async def list_pages(
        self, paths: Sequence[str], limit: int | None = None
    ) -> builtins.list[builtins.list[str] | None]:
        """The first page of each directory in one hop; None where one is absent."""

        def pages() -> builtins.list[builtins.list[str] | None]:
            out: builtins.list[builtins.list[str] | None] = []
            for path in paths:
                try:
                    names = self._sorted_names(path, self._full(path))
                except PathNotFound:
                    out.append(None)
                else:
                    out.append(_page(path, names, "", limit))
            return out

        return await self._run_small(pages)

    async def stamps(self, paths: Sequence[str]) -> builtins.list[Hashable] | None:
        """Inode and mtime of each directory, in one hop: adding or removing an entry changes it."""
        return await self._run_small(_fsops.stamps, [self._full(p) for p in paths])

    def _sorted_names(self, path: str, full: str) -> builtins.list[str]:
        """The sorted child names of a directory, from the stamped cache when it is large.

        Only a directory already found large is stamped first, so small ones cost one scan.
        """
        with self._listings_lock:
            known = full in self._listings
        stamp: Hashable = None
        if known:
            stamp = _fsops.directory_stamp(path, full)
            with self._listings_lock:
                hit, names = self._listings.lookup(full, stamp)
            if hit and names is not None:
                return names
        started = self._listings.started()
        names = _fsops.list_names(path, full)
        if len(names) >= CACHED_LISTING_MIN:
            with self._listings_lock:
                # Unstamped, the first large listing only marks the directory to stamp next time.
                self._listings.store(full, stamp, names, started)
        return names

    async def move(self, source: str, dest: str) -> None:
        """Durably and atomically rename ``source`` over ``dest`` (fsync, rename, fsync of the
        parent), creating parents; PathNotFound."""
        await self._run(_fsops.move, source, self._full(source), dest, self._full(dest))

    async def delete(self, path: str) -> None:
        """Remove a file or a whole directory tree; PathNotFound if absent."""
        await self._run(_fsops.delete, path, self._full(path))

    def local_path(self, path: str) -> str:
        """Return the OS path of ``path`` for zero-copy ``sendfile``; it may not exist."""
        return self._full(path)

    async def walk(self, path: str) -> AsyncIterator[FileInfo]:
        """Yield every entry under ``path`` depth-first in sorted order, one hop per directory.

        Entries removed while the walk runs are skipped rather than raising.
        """
        top = await self._run(_fsops.scan, path, self._full(path), True)
        stack = [iter(top)]
        while stack:
            info = next(stack[-1], None)
            if info is None:
                stack.pop()
                continue
            yield info
            if info.is_dir:
                children = await self._run(_fsops.scan, info.path, self._full(info.path), False)
                stack.append(iter(children))

    async def aclose(self) -> None:
        """Wait for in-flight filesystem calls, then stop the thread pool."""
        await asyncio.to_thread(self._executor.shutdown, True)
        self._buffers.clear()


class _FilesystemReader(FileReader):
    """Reads an open descriptor in the driver's pool; the descriptor pins the file's content."""

    def __init__(self, driver: FilesystemDriver, fd: int) -> None:
        self._driver = driver
        self._fd: int | None = fd

    async def read(self, n: int = READ_CHUNK_SIZE) -> bytes:
        if self._fd is None:
            raise StorageError("read from a closed reader")
        if n <= 0:
            return b""
        return await self._driver._run(os.read, self._fd, n)

    async def aclose(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            await self._driver._run(os.close, fd)


class _FilesystemWriter(FileWriter):
    """Stages bytes in an aligned buffer; each full buffer is written in one pool hop while the
    next one fills, whole blocks with ``O_DIRECT`` where the filesystem allows it.

    Buffer index ``lead`` holds the byte at file offset ``offset``, and ``lead`` is that offset
    modulo :data:`ALIGN`, so aligned file offsets fall on aligned addresses. At most one write
    is in flight; descriptors are closed only once it has finished, even if the task awaiting
    it is cancelled.
    """

    def __init__(
        self,
        driver: FilesystemDriver,
        path: str,
        full: str,
        fd: int,
        direct: int | None,
        size: int,
    ) -> None:
        self._driver = driver
        self._path = path
        self._full = full
        self._fd: int | None = fd
        self._direct = direct
        self._size = size
        self._buffer: mmap.mmap | None = None
        self._offset = size
        self._lead = self._fill = size % ALIGN
        self._inflight: asyncio.Future[bool] | None = None
        # File space: allocated through ``_reserved``; announced (``reserve``) through ``_expected``.
        self._reserved = self._expected = self._opened_size = size
        self._committed = False
        self._cancelled = False
        # Serialises writes so staged bytes reach the file in write order.
        self._lock = asyncio.Lock()

    @property
    def size(self) -> int:
        return self._size

    async def write(self, data: bytes) -> None:
        """Append ``data``; StorageError if the writer is closed."""
        async with self._lock:
            if self._fd is None:
                raise StorageError(f"write to a closed writer for {self._path}")
            view = memoryview(data).cast("B")
            self._size += len(view)
            pool = self._driver._buffers
            while view:
                if self._buffer is None:
                    self._buffer = pool.take()
                taken = min(pool.size - self._fill, len(view))
                self._buffer[self._fill : self._fill + taken] = view[:taken]
                self._fill += taken
                view = view[taken:]
                if self._fill == pool.size:
                    await self._submit()

    async def reserve(self, nbytes: int) -> None:
        """Expect ``nbytes`` more: the file's blocks are then allocated a window ahead of the writes."""
        self._expected = max(self._expected, self._size + nbytes)

    def _reservation(self, end: int) -> _fsops.Reservation:
        """What to allocate before writing up to ``end``: the next window of the announced bytes,
        as long as what this writer has written by then, up to :data:`RESERVE_AHEAD`."""
        if end <= self._reserved or self._reserved >= self._expected:
            return None
        ahead = min(RESERVE_AHEAD, end - self._opened_size)
        start, self._reserved = self._reserved, min(self._expected, end + ahead)
        return start, self._reserved - start

    async def _submit(self) -> None:
        """Start writing the staged bytes once the previous write has landed."""
        await self._settle()
        buffer, lead, fill, offset = self._buffer, self._lead, self._fill, self._offset
        self._buffer = None
        self._offset += fill - lead
        self._lead = self._fill = 0
        if buffer is None or fill == lead:
            if buffer is not None:
                self._driver._buffers.give(buffer)
            return
        assert self._fd is not None
        future = asyncio.get_running_loop().run_in_executor(
            self._driver._executor,
            _fsops.write_at,
            self._path,
            self._fd,
            self._direct,
            memoryview(buffer)[lead:fill],
            offset,
            self._reservation(offset + fill - lead),
        )
        future.add_done_callback(lambda _: self._driver._buffers.give(buffer))
        self._inflight = future

    async def _settle(self) -> None:
        """Wait for the write in flight; if it failed, close the writer and raise."""
        future = self._inflight
        if future is None:
            return
        # Shielded: the descriptors must outlive the thread's write even if we are cancelled.
        try:
            direct_ok = await asyncio.shield(future)
        except BaseException:
            if future.done():
                self._inflight = None
                if not future.cancelled() and future.exception() is not None:
                    # The file holds an unknown prefix of what was written: stop here.
                    await self._close_descriptors(fsync=False)
            raise
        self._inflight = None
        if not direct_ok and self._direct is not None:
            os.close(self._direct)
            self._direct = None

    def _detach(self) -> tuple[int | None, int | None]:
        """Forget the descriptors (returned, for the caller to close) and the staging buffer."""
        fd, direct = self._fd, self._direct
        self._fd = self._direct = None
        if self._buffer is not None:
            self._driver._buffers.give(self._buffer)
            self._buffer = None
        return fd, direct

    @property
    def _reserving(self) -> bool:
        """Whether blocks were allocated ahead: past the file's end, unused ones are released at
        the end (even after a failed write, whose file ends short of what was staged)."""
        return self._reserved > self._opened_size

    async def _close_descriptors(self, *, fsync: bool) -> None:
        fd, direct = self._detach()
        if fd is not None:
            await self._driver._run(_fsops.finish, self._path, fd, direct, fsync, self._reserving)

    async def _finish(self, *, fsync: bool) -> None:
        """Write out staged bytes, optionally fsync, and close: one hop after the write in flight."""
        try:
            await self._settle()
        except BaseException:
            await self._close_descriptors(fsync=False)
            raise
        buffer, lead, fill = self._buffer, self._lead, self._fill
        self._buffer = None
        fd, direct = self._detach()
        assert fd is not None
        data = memoryview(buffer)[lead:fill] if buffer is not None else memoryview(b"")
        try:
            await self._driver._run(
                _fsops.write_and_finish,
                self._path,
                fd,
                direct,
                data,
                self._offset,
                fsync,
                self._reserving,
            )
        finally:
            data.release()
            if buffer is not None:
                self._driver._buffers.give(buffer)

    async def close(self) -> None:
        """Write out buffered bytes and close; idempotent."""
        async with self._lock:
            if self._fd is not None:
                # Shielded so that a cancelled request still closes what it opened.
                await asyncio.shield(self._finish(fsync=False))

    async def commit(self) -> None:
        """Write out, fsync and close; StorageError if already closed or cancelled."""
        async with self._lock:
            if self._committed:
                return
            if self._fd is None:
                raise StorageError(f"commit of a closed writer for {self._path}")
            await asyncio.shield(self._finish(fsync=True))
            self._committed = True

    async def cancel(self) -> None:
        """Drop the staged bytes, close and remove the file; idempotent."""
        async with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            # Shielded: once begun, the file is removed even if the caller is cancelled.
            await asyncio.shield(self._discard())

    async def _discard(self) -> None:
        with contextlib.suppress(Exception):
            await self._settle()
        fd, direct = self._detach()
        await self._driver._run(_fsops.discard, self._path, self._full, fd, direct)


def _page(path: str, names: list[str], start_after: str, limit: int | None) -> list[str]:
    start = bisect.bisect_right(names, start_after) if start_after else 0
    end = len(names) if limit is None else start + limit
    return [f"{path}/{name}" for name in names[start:end]]


def from_parameters(params: Mapping[str, Any]) -> FilesystemDriver:
    """Build the driver from Distribution's ``storage.filesystem`` parameters."""
    from cargohold.storage.driver.factory import bool_param, check_params, int_param

    check_params("filesystem", params, {"rootdirectory", "maxthreads", "directwrites"})
    root = params.get("rootdirectory", "/var/lib/registry")
    if not isinstance(root, str) or not root:
        raise ValueError(f"filesystem driver: rootdirectory must be a non-empty string: {root!r}")
    # Distribution raises values under 25 to 25 rather than failing; a drop-in must accept them.
    maxthreads = max(int_param("filesystem", params, "maxthreads", 100), 25)
    return FilesystemDriver(
        root, maxthreads, directwrites=bool_param("filesystem", params, "directwrites", False)
    )
