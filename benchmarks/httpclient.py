"""A blocking HTTP/1.1 client on a raw socket, for moving gigabytes without becoming the bottleneck.

Bodies are sent with ``sendall`` straight from memoryviews and received with ``recv_into`` into one
reusable buffer, so the client costs a few percent of a core at loopback speeds where aiohttp's
client or urllib would cost more than the server under test.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

_RECV_SIZE: Final = 4 * 1024 * 1024
_MAX_HEAD: Final = 64 * 1024

Sink = Callable[[memoryview], object]


class ProtocolError(RuntimeError):
    """The server's response could not be parsed or broke the exchange."""


@dataclass
class Response:
    """Status, lower-cased headers, the body when collected, and the body's length in bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    length: int = 0

    def header(self, name: str) -> str:
        """The header's value; ProtocolError when absent, naming the status for context."""
        try:
            return self.headers[name.lower()]
        except KeyError:
            raise ProtocolError(f"HTTP {self.status} without {name}: {self.body[:300]!r}") from None


def target_of(location: str) -> str:
    """The request target (path and query) of an absolute or relative ``Location``."""
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def with_query(target: str, key: str, value: str) -> str:
    """``target`` with ``key=value`` appended to its query string."""
    return f"{target}{'&' if '?' in target else '?'}{key}={value}"


class Connection:
    """A keep-alive connection to ``host:port``, opened again after a ``Connection: close``
    response (as any HTTP/1.1 client must); not thread-safe."""

    def __init__(self, host: str, port: int, *, timeout: float = 600.0) -> None:
        self.host = f"{host}:{port}"
        self._address = (host, port)
        self._timeout = timeout
        self.sock = self._connect()
        self._closed = False
        #: How many times the server closed the connection after a response.
        self.reconnects = 0
        self._pending = bytearray()
        self._scratch = memoryview(bytearray(_RECV_SIZE))

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self._address, timeout=self._timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | None = None,
        body: Iterable[bytes | memoryview] = (),
        *,
        sink: Sink | None = None,
        collect: bool = True,
    ) -> Response:
        """Send a request (``body`` parts must add up to any Content-Length given) and read the reply.

        The response body goes to ``sink`` when given, is kept in ``Response.body`` when
        ``collect``, and is otherwise only counted.
        """
        if self._closed:
            self.sock, self._closed = self._connect(), False
            self.reconnects += 1
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        for part in body:
            self.sock.sendall(part)
        response = self._read_response(method, sink, collect)
        if response.headers.get("connection", "").lower() == "close":
            self.sock.close()
            self._pending.clear()
            self._closed = True
        return response

    def _fill(self) -> None:
        n = self.sock.recv_into(self._scratch)
        if n == 0:
            raise ProtocolError("connection closed by the server")
        self._pending += self._scratch[:n]

    def _read_head(self) -> tuple[int, dict[str, str]]:
        while (end := self._pending.find(b"\r\n\r\n")) < 0:
            if len(self._pending) > _MAX_HEAD:
                raise ProtocolError("response head too large")
            self._fill()
        head = bytes(self._pending[:end]).decode("latin-1").split("\r\n")
        del self._pending[: end + 4]
        try:
            status = int(head[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            raise ProtocolError(f"bad status line {head[0]!r}") from None
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def _read_response(self, method: str, sink: Sink | None, collect: bool) -> Response:
        status, headers = self._read_head()
        response = Response(status, headers)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return response
        kept = bytearray()

        def deliver(view: memoryview) -> None:
            response.length += len(view)
            if sink is not None:
                sink(view)
            if collect:
                kept.extend(view)

        if headers.get("transfer-encoding", "").lower() == "chunked":
            self._read_chunked(deliver)
        elif "content-length" in headers:
            self._read_exact(int(headers["content-length"]), deliver)
        else:
            raise ProtocolError(f"HTTP {status} response without a length")
        response.body = bytes(kept)
        return response

    def _read_exact(self, remaining: int, deliver: Callable[[memoryview], None]) -> None:
        if self._pending:
            take = min(remaining, len(self._pending))
            # A copy: a bytearray cannot shrink while a memoryview of it is alive.
            deliver(memoryview(bytes(self._pending[:take])))
            del self._pending[:take]
            remaining -= take
        while remaining > 0:
            n = self.sock.recv_into(self._scratch, min(remaining, _RECV_SIZE))
            if n == 0:
                raise ProtocolError(f"connection closed with {remaining} body bytes missing")
            deliver(self._scratch[:n])
            remaining -= n

    def _read_line(self) -> bytes:
        while (end := self._pending.find(b"\r\n")) < 0:
            self._fill()
        line = bytes(self._pending[:end])
        del self._pending[: end + 2]
        return line

    def _read_chunked(self, deliver: Callable[[memoryview], None]) -> None:
        while True:
            size = int(self._read_line().split(b";", 1)[0], 16)
            if size == 0:
                while self._read_line():  # trailers end with an empty line
                    pass
                return
            self._read_exact(size, deliver)
            self._read_line()
