"""Zero-copy responses for blobs a driver can name an OS path for.

The file is opened and stat'ed in one executor hop; the body goes out with ``loop.sendfile``.
When the loop or transport cannot sendfile (uvloop, TLS) it goes out in chunks, each read on the
loop when the page cache holds it (``RWF_NOWAIT``), else by ``pread`` in the executor. Modelled on
aiohttp's ``web_fileresponse``, minus its content-type guessing and mtime ETags: a blob's
identity is its digest.

uvloop, which serves the registry, always takes the fallback. Calling ``os.sendfile`` on the
socket ourselves was tried and measured (docs/performance.md, "Unpinned pull"): to a loopback client on
the benchmark machine it was about half as fast as this copy, whether on the loop or in a thread;
larger ``pread`` chunks (2-8 MiB) changed neither throughput nor CPU per GiB.
"""

from __future__ import annotations

import asyncio
import os
import stat
from typing import BinaryIO

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter

from cargohold.api.bodies import within
from cargohold.storage.driver.base import READ_CHUNK_SIZE

# sendfile in slices, so a client that stops reading is noticed within one write timeout.
SENDFILE_SLICE = 8 * READ_CHUNK_SIZE


def _open_regular(path: str) -> tuple[BinaryIO, int] | None:
    """Open ``path`` for reading and return it with its size; None if absent or not a file."""
    try:
        fobj = open(path, "rb")  # noqa: SIM115 - closed by SendfileResponse after sending
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    st = os.fstat(fobj.fileno())
    if not stat.S_ISREG(st.st_mode):
        fobj.close()
        return None
    return fobj, st.st_size


async def open_regular(path: str) -> tuple[BinaryIO, int] | None:
    """Async :func:`_open_regular`: one executor hop for open and fstat."""
    return await asyncio.to_thread(_open_regular, path)


# preadv2's RWF_NOWAIT (Linux): read only what the page cache holds, never wait for the disk.
_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)


def _read_cached(fd: int, size: int, offset: int) -> bytes | memoryview | None:
    """Read what the page cache holds at ``offset`` without blocking; None if nothing is cached.

    A cached read costs a copy on the event loop instead of a thread hop; on two cores that lets
    the client's copy run beside ours (unpinned pulls: 0.75x -> 0.91x of Distribution).
    """
    if _NOWAIT is None:
        return None
    buf = bytearray(size)
    try:
        got = os.preadv(fd, [buf], offset, _NOWAIT)
    except OSError:  # EAGAIN: not cached; EOPNOTSUPP/EINVAL: the kernel or filesystem cannot
        return None
    return memoryview(buf)[:got] if got else b""


# Pending closes, referenced so they are not garbage collected before they run.
_CLOSING: set[asyncio.Future[None]] = set()


def close_file(fobj: BinaryIO) -> None:
    """Close ``fobj`` in the executor without awaiting it, so a cancelled request still closes."""
    try:
        future = asyncio.get_running_loop().run_in_executor(None, fobj.close)
    except RuntimeError:  # no loop, or its executor is shut down: closing a reader is cheap
        fobj.close()
        return
    _CLOSING.add(future)
    future.add_done_callback(_CLOSING.discard)


class SendfileResponse(web.StreamResponse):
    """Send ``count`` bytes of ``fobj`` from ``offset``; closes ``fobj`` when done.

    A client that accepts no bytes for ``write_timeout`` seconds (0: no limit) is disconnected.
    """

    def __init__(
        self,
        fobj: BinaryIO,
        offset: int,
        count: int,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        write_timeout: float = 0.0,
    ) -> None:
        super().__init__(status=status, headers=headers)
        self._fobj = fobj
        self._offset = offset
        self._count = count
        self._write_timeout = write_timeout
        self.content_length = count
        # The read-ahead still running in a thread, if any: the file closes only after it.
        self._reading: asyncio.Future[bytes] | None = None

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        try:
            writer = await super().prepare(request)
            if writer is None or request.method == "HEAD" or self._count == 0:
                return writer
            await self._send(request, writer)
            await super().write_eof()
            return writer
        finally:
            reading, fobj = self._reading, self._fobj
            if reading is None or reading.done():
                close_file(fobj)
            else:
                reading.add_done_callback(lambda _: close_file(fobj))

    async def _send(self, request: web.BaseRequest, writer: AbstractStreamWriter) -> None:
        loop = asyncio.get_running_loop()
        transport = request.transport
        if transport is None:
            raise ConnectionResetError("connection lost")
        if self.compression:
            await self._fallback(transport, writer, self._offset, self._count)
            return
        offset, end = self._offset, self._offset + self._count
        while offset < end:
            count = min(SENDFILE_SLICE, end - offset)
            try:
                # Headers were flushed by prepare (StreamResponse sends them immediately); asyncio
                # itself falls back to executor reads for transports that cannot sendfile (TLS).
                sent = await within(
                    transport,
                    self._write_timeout,
                    loop.sendfile(transport, self._fobj, offset, count),
                )
            except (NotImplementedError, AttributeError):
                await self._fallback(transport, writer, offset, end - offset)
                return
            if sent == 0:
                raise ConnectionResetError("blob truncated while sending")
            offset += sent

    async def _fallback(
        self,
        transport: asyncio.Transport,
        writer: AbstractStreamWriter,
        offset: int,
        remaining: int,
    ) -> None:
        fd = self._fobj.fileno()
        loop = asyncio.get_running_loop()
        while remaining > 0:
            size = min(READ_CHUNK_SIZE, remaining)
            chunk = _read_cached(fd, size, offset)
            if chunk is None:
                self._reading = loop.run_in_executor(None, os.pread, fd, size, offset)
                # Shielded: a cancelled request leaves the read running, and the file open
                # until it ends.
                chunk = await asyncio.shield(self._reading)
            if not chunk:
                # The file shrank under us: the client would wait for bytes that never come.
                raise ConnectionResetError("blob truncated while sending")
            offset += len(chunk)
            remaining -= len(chunk)
            await within(transport, self._write_timeout, writer.write(chunk))
        await within(transport, self._write_timeout, writer.drain())
