"""File-backed blob responses (:mod:`cargohold.api.sendfile`) on asyncio's loop and on uvloop.

The registry serves with uvloop, which has no ``loop.sendfile``; the rest of the API suite runs on
asyncio's loop. So each case starts its own server under each loop, on a loopback port, and talks
to it over real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import shutil
import socket
import ssl
import struct
import subprocess
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvloop
from aiohttp import web

from cargohold.api import create_app
from cargohold.api.sendfile import SendfileResponse, open_regular
from cargohold.api.server_options import RegistryRunner, ServerOptions
from cargohold.config import validate_config
from cargohold.storage.driver.base import READ_CHUNK_SIZE

# Several read hops, and a last one that is not a whole chunk.
SIZE = 8 * READ_CHUNK_SIZE + 123_457
# Generous bound for "eventually": only a server that never does the thing can reach it.
EVENTUALLY = 30.0

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


Run = Callable[[Coroutine[Any, Any, None]], None]


@pytest.fixture(params=sorted(LOOPS))
def run(request: pytest.FixtureRequest) -> Run:
    """Run a coroutine to completion on a fresh event loop of the parametrised kind."""
    factory = LOOPS[request.param]

    def runner(main: Coroutine[Any, Any, None]) -> None:
        with asyncio.Runner(loop_factory=factory) as loop_runner:
            loop_runner.run(main)

    return runner


def pattern(size: int) -> bytes:
    """``size`` bytes in which any misplaced or repeated slice shows."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(struct.pack(">Q", counter)).digest() * 64
        counter += 1
    return bytes(out[:size])


DATA = pattern(SIZE)


@contextlib.asynccontextmanager
async def registry(root: Path, write_timeout: str = "5s") -> AsyncIterator[str]:
    """The registry on the filesystem driver in ``root``, served by RegistryRunner; its URL."""
    config = validate_config(
        {
            "storage": {"filesystem": {"rootdirectory": str(root)}, "delete": {"enabled": True}},
            "http": {"timeout": {"read": "5s", "write": write_timeout, "idle": "5s"}},
        }
    )
    runner = RegistryRunner(create_app(config), ServerOptions.from_config(config.http))
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def push(session: aiohttp.ClientSession, url: str, data: bytes) -> str:
    """Push ``data`` monolithically into ``foo``; its digest."""
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    async with session.post(
        f"{url}/v2/foo/blobs/uploads/?digest={digest}", data=io.BytesIO(data)
    ) as resp:
        assert resp.status == 201, await resp.text()
    return digest


async def slow_get(url: str, digest: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Send a blob GET from a socket with a tiny receive buffer, which the server soon fills."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", int(url.rsplit(":", 1)[1])))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(f"GET /v2/foo/blobs/{digest} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return reader, writer


async def get(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    async with session.get(url, headers=headers) as resp:
        return resp.status, await resp.read()


async def eventually(check: Callable[[], bool]) -> None:
    """Wait until ``check()`` holds, for at most about ``EVENTUALLY`` seconds."""
    for _ in range(int(EVENTUALLY / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    assert check()


def open_fds_on(path: Path) -> int:
    """How many of this process's descriptors are open on ``path``."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{name}") == str(path):
                count += 1
    return count


def blob_file(root: Path, digest: str) -> Path:
    [path] = root.rglob(f"blobs/sha256/*/{digest.removeprefix('sha256:')}/data")
    return path


def test_full_and_ranged_gets_send_exact_bytes(run: Run, tmp_path: Path) -> None:
    async def main() -> None:
        async with registry(tmp_path) as url, aiohttp.ClientSession() as session:
            digest = await push(session, url, DATA)
            blob = f"{url}/v2/foo/blobs/{digest}"
            assert await get(session, blob) == (200, DATA)
            start, end = READ_CHUNK_SIZE - 7, 2 * READ_CHUNK_SIZE + 99  # spans two read hops
            ranged = await get(session, blob, {"Range": f"bytes={start}-{end}"})
            assert ranged == (206, DATA[start : end + 1])
            suffix = await get(session, blob, {"Range": "bytes=-1000001"})
            assert suffix == (206, DATA[-1000001:])

    run(main())


def test_client_gone_mid_body_closes_the_file_and_others_are_served(
    run: Run, tmp_path: Path
) -> None:
    big = DATA * 4  # more than loopback socket buffers hold

    async def main() -> None:
        async with registry(tmp_path) as url, aiohttp.ClientSession() as session:
            digest = await push(session, url, big)
            path = blob_file(tmp_path, digest)
            reader, writer = await slow_get(url, digest)
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            await reader.readexactly(100_000)
            assert open_fds_on(path) == 1  # the response still sending
            # Reset, not a polite FIN: the server's next write fails.
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.close()
            await eventually(lambda: open_fds_on(path) == 0)
            assert await get(session, f"{url}/v2/foo/blobs/{digest}") == (200, big)

    run(main())


def test_reader_that_stops_reading_is_disconnected_after_write_timeout(
    run: Run, tmp_path: Path
) -> None:
    big = DATA * 4  # more than loopback socket buffers hold

    async def main() -> None:
        async with registry(tmp_path, write_timeout="1s") as url, aiohttp.ClientSession() as s:
            digest = await push(s, url, big)
            reader, writer = await slow_get(url, digest)
            # While this client reads nothing, another is served in full.
            assert await get(s, f"{url}/v2/foo/blobs/{digest}") == (200, big)
            await asyncio.sleep(1.5)  # past the write timeout, still reading nothing
            received = 0
            async with asyncio.timeout(EVENTUALLY):
                with contextlib.suppress(ConnectionResetError):
                    while chunk := await reader.read(1 << 20):
                        received += len(chunk)
            writer.close()
            assert received < len(big), "the server waited for the stalled reader"

    run(main())


# A minimal app around SendfileResponse, for what the registry never does on purpose.


def file_app(path: Path, count: int) -> web.Application:
    """GET / sends ``count`` bytes of ``path`` from offset 0."""

    async def send(request: web.Request) -> web.StreamResponse:
        opened = await open_regular(str(path))
        assert opened is not None
        return SendfileResponse(opened[0], 0, count)

    app = web.Application()
    app.router.add_get("/", send)
    return app


@contextlib.asynccontextmanager
async def serve_app(
    app: web.Application, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def test_file_shorter_than_promised_cuts_the_body(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_bytes(DATA)

    async def main() -> None:
        async with serve_app(file_app(path, SIZE + 1)) as port, aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{port}/") as resp:
                assert resp.status == 200
                with pytest.raises(aiohttp.ClientPayloadError):
                    await resp.read()
            await eventually(lambda: open_fds_on(path) == 0)

    run(main())


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    openssl = shutil.which("openssl")
    assert openssl is not None, "the openssl command (Debian: openssl) makes the test certificate"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_sends_exact_bytes(run: Run, tmp_path: Path, tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    path = tmp_path / "blob"
    path.write_bytes(DATA)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))

    async def main() -> None:
        async with (
            serve_app(file_app(path, SIZE), server_ctx) as port,
            aiohttp.ClientSession() as session,
            session.get(f"https://127.0.0.1:{port}/", ssl=client_ctx) as resp,
        ):
            assert resp.status == 200
            assert await resp.read() == DATA

    run(main())


def test_chunks_not_in_the_page_cache_are_read_in_a_thread(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    misses = 0

    def never_cached(fd: int, buffers: list[bytearray], offset: int, flags: int = 0) -> int:
        nonlocal misses
        misses += 1
        raise BlockingIOError("not in the page cache")

    async def main() -> None:
        async with registry(tmp_path) as url, aiohttp.ClientSession() as session:
            digest = await push(session, url, DATA)
            monkeypatch.setattr(os, "preadv", never_cached)
            blob = f"{url}/v2/foo/blobs/{digest}"
            assert await get(session, blob) == (200, DATA)
            start, end = READ_CHUNK_SIZE - 7, 2 * READ_CHUNK_SIZE + 99
            ranged = await get(session, blob, {"Range": f"bytes={start}-{end}"})
            assert ranged == (206, DATA[start : end + 1])

    run(main())
    # uvloop cannot sendfile, so each chunk asked the page cache first; asyncio's loop sendfiles.
    if request.node.callspec.params["run"] == "uvloop":
        assert misses >= len(DATA) // READ_CHUNK_SIZE
    else:
        assert misses == 0
