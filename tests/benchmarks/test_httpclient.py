"""The benchmark's raw HTTP client: it follows ``Connection: close`` as HTTP/1.1 requires."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from benchmarks.httpclient import Connection


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: set[int] = set()

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).connections.add(self.client_address[1])  # one port per connection
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        if self.headers.get("X-Close"):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    _Handler.connections = set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_a_closed_connection_is_opened_again_for_the_next_request(
    server: ThreadingHTTPServer,
) -> None:
    host, port = server.server_address[:2]
    with Connection(str(host), int(port)) as conn:
        first = conn.request("PUT", "/a", {"Content-Length": "3"}, [b"one"])
        kept = conn.request("PUT", "/b", {"Content-Length": "3", "X-Close": "1"}, [b"two"])
        again = conn.request("PUT", "/c", {"Content-Length": "5"}, [b"three"])
    assert (first.body, kept.body, again.body) == (b"one", b"two", b"three")
    assert kept.headers["connection"] == "close"
    assert conn.reconnects == 1
    assert len(_Handler.connections) == 2
