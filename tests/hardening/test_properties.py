"""Property: whatever name, tag, digest or upload id a URL carries, the API answers with a status
below 500 and, for errors, an OCI error document (never a traceback or a plain-text page).

One server runs for the module on its own thread and loop; hypothesis drives blocking raw
requests at it (derandomized, bounded by ``max_examples``).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cargohold.api.errcode import ERROR_CODES
from tests.hardening.conftest import serve
from tests.hardening.rawhttp import _complete, parse_response, request

SETTINGS = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Plausible pieces mixed with arbitrary text, so both grammar edges and junk are explored.
NAME_PARTS = st.one_of(
    st.from_regex(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", fullmatch=True),
    st.sampled_from(["..", ".", "", "A", "_", "-", "a" * 300, "%2F", "\x00", "\r\n", "é"]),
    st.text(max_size=20),
)
NAMES = st.lists(NAME_PARTS, min_size=1, max_size=4).map("/".join)
REFERENCES = st.one_of(
    st.from_regex(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,130}", fullmatch=True),
    st.from_regex(r"(sha256|sha512|md5|SHA256|x)?:[0-9a-fA-Fg]{0,130}", fullmatch=True),
    st.text(max_size=60),
)
KINDS = st.sampled_from(
    [
        ("GET", "tags/list"),
        ("GET", "manifests/{ref}"),
        ("HEAD", "manifests/{ref}"),
        ("PUT", "manifests/{ref}"),
        ("DELETE", "manifests/{ref}"),
        ("GET", "blobs/{ref}"),
        ("DELETE", "blobs/{ref}"),
        ("POST", "blobs/uploads/"),
        ("POST", "blobs/uploads/?digest={ref}"),
        ("POST", "blobs/uploads/?mount={ref}&from={ref}"),
        ("GET", "blobs/uploads/{ref}"),
        ("PATCH", "blobs/uploads/{ref}"),
        ("PUT", "blobs/uploads/{ref}?digest={ref}"),
        ("DELETE", "blobs/uploads/{ref}"),
        ("GET", "referrers/{ref}"),
        ("GET", "tags/list?n={ref}&last={ref}"),
    ]
)
ENCODE = st.booleans()


class Server:
    """The registry on a background thread; ``port`` once started."""

    def __init__(self) -> None:
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve({"inmemory": {}}) as live:
            self.port = live.port
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> Server:
        self._thread.start()
        assert self._ready.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server() as running:
        yield running


def roundtrip(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while not _complete(data, head=raw.startswith(b"HEAD ")):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def target(template: str, name: str, ref: str, encode: bool) -> bytes:
    def part(value: str) -> str:
        # Encoded, any character reaches the registry's own decoding; raw, the HTTP parser's.
        return quote(value, safe="/") if encode else value

    path = "/v2/" + part(name) + "/" + template.replace("{ref}", quote(ref, safe=""))
    return path.encode("utf-8", "surrogateescape")


@SETTINGS
@given(kind=KINDS, name=NAMES, ref=REFERENCES, encode=ENCODE, body=st.binary(max_size=64))
def test_arbitrary_urls_never_answer_5xx(
    server: Server, kind: tuple[str, str], name: str, ref: str, encode: bool, body: bytes
) -> None:
    method, template = kind
    raw = request(
        method,
        target(template, name, ref, encode),
        body=body if method in ("PUT", "PATCH", "POST") else b"",
    )
    resp = parse_response(roundtrip(server.port, raw), head=method == "HEAD")
    if resp is None:
        return  # the parser refused the bytes outright and closed: allowed, not a 5xx
    assert resp.status < 500, (raw[:300], resp.status, resp.body[:300])
    if resp.status >= 400 and method != "HEAD":
        assert b"Traceback" not in resp.body
        doc = json.loads(resp.body)
        assert doc["errors"][0]["code"] in ERROR_CODES
        assert doc["errors"][0]["message"]
