"""Slow or stuck peers hold only their own connection, and only for ``http.timeout.*``.

Each test parks a misbehaving client on the server, shows that other clients are served in
full meanwhile, and that the server then drops the stuck connection by itself.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.hardening.conftest import serve
from tests.hardening.rawhttp import LAYER, Live, request, seed, send, sha256

TIMEOUTS = {"read": "1s", "write": "1s", "idle": "1s"}
# Generous bound for "eventually": only a server that never drops the peer can reach it.
EVENTUALLY = 30.0
BIG = bytes(range(256)) * (128 * 1024)  # 32 MiB: more than loopback socket buffers hold


@pytest.fixture
async def slow() -> AsyncIterator[Live]:
    async with serve({"inmemory": {}}, TIMEOUTS) as running:
        await seed(running)
        yield running


@pytest.fixture(params=["inmemory", "filesystem"])
async def slow_any(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    """Both drivers: blobs stream from memory, or go out with sendfile from the filesystem."""
    params = {"rootdirectory": str(tmp_path)} if request.param == "filesystem" else {}
    async with serve({request.param: params}, TIMEOUTS) as running:
        await seed(running)
        yield running


async def others_are_served(live: Live) -> None:
    """A full push and pull by another client while the stuck one is parked."""
    data = b"served while another client is stuck"
    pushed = await send(
        live, request("POST", f"/v2/{{repo}}/blobs/uploads/?digest={sha256(data)}", body=data)
    )
    assert pushed is not None
    assert pushed.status == 201
    pulled = await send(live, request("GET", f"/v2/{{repo}}/blobs/{sha256(data)}"))
    assert pulled is not None
    assert pulled.body == data
    listed = await send(live, request("GET", "/v2/{repo}/tags/list"))
    assert listed is not None
    assert listed.status == 200


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes (or resets) the connection."""
    data = b""
    async with asyncio.timeout(EVENTUALLY):
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk


async def test_incomplete_request_head_is_dropped_after_idle_timeout(slow: Live) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", slow.port)
    writer.write(b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    await writer.drain()
    await others_are_served(slow)
    assert await read_until_closed(reader) == b""
    writer.close()


async def test_idle_keep_alive_connection_is_closed(slow: Live) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", slow.port)
    writer.write(b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    await others_are_served(slow)
    answered = await read_until_closed(reader)
    assert answered.startswith(b"HTTP/1.1 200")
    writer.close()


async def test_upload_that_stops_sending_is_cut_and_resumable(slow_any: Live) -> None:
    slow = slow_any
    """The stalled PATCH gets BLOB_UPLOAD_INVALID; what arrived stays, so the client can resume."""
    target = "/v2/{repo}/blobs/uploads/{other_upload}".replace("{repo}", "other/repo")
    head = request("PATCH", target, {"Content-Length": str(len(LAYER))})
    reader, writer = await asyncio.open_connection("127.0.0.1", slow.port)
    writer.write(slow.fill(head) + LAYER[:100])
    await writer.drain()
    await others_are_served(slow)
    answered = await read_until_closed(reader)
    writer.close()
    assert b" 400 " in answered.split(b"\r\n", 1)[0], answered[:200]
    assert b"BLOB_UPLOAD_INVALID" in answered
    status = await send(slow, request("GET", target))
    assert status is not None
    assert status.status == 204
    assert status.headers["Range"] == "0-99"


async def test_reader_that_stops_reading_is_dropped_after_write_timeout(slow_any: Live) -> None:
    slow = slow_any
    pushed = await send(
        slow, request("POST", f"/v2/{{repo}}/blobs/uploads/?digest={sha256(BIG)}", body=BIG)
    )
    assert pushed is not None
    assert pushed.status == 201
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", slow.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(slow.fill(request("GET", f"/v2/{{repo}}/blobs/{sha256(BIG)}")))
    await writer.drain()
    await asyncio.sleep(0)  # the stuck client now reads nothing for a while
    await others_are_served(slow)
    await asyncio.sleep(2)  # past the 1 s write timeout, with nothing read
    received = await read_until_closed(reader)
    writer.close()
    assert len(received) < len(BIG), "the server waited for the stuck reader instead of dropping it"
