"""Blob transfers through the OCI API: pull (whole or a Range), monolithic and chunked push.

Each returns the bytes moved; any answer other than the expected 2xx raises ProtocolError, so a
finished transfer is an error-free one.

Push content is fresh for every run without generating gigabytes: a random 32-byte nonce followed
by a shared random block repeated to the wanted size, so each run has a new digest while the
client only ever holds one block in memory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Final

from benchmarks.httpclient import Connection, ProtocolError, target_of, with_query
from benchmarks.settings import MiB

_BLOCK: Final = 64 * MiB
_NONCE: Final = 32
_OCTETS: Final = "application/octet-stream"


class BlobContent:
    """``size`` bytes: a per-instance random nonce, then a shared random block repeated."""

    _block: bytes | None = None

    def __init__(self, size: int) -> None:
        if BlobContent._block is None:
            BlobContent._block = os.urandom(_BLOCK)
        self.size = size
        self.nonce = os.urandom(min(_NONCE, size))
        hasher = hashlib.sha256()
        for part in self.parts(0, size):
            hasher.update(part)
        self.digest = "sha256:" + hasher.hexdigest()

    def parts(self, start: int, end: int) -> Iterator[memoryview]:
        """The bytes in ``[start, end)`` as views of at most one block each."""
        block = memoryview(self._block or b"")
        pos = start
        while pos < end:
            if pos < len(self.nonce):
                piece = memoryview(self.nonce)[pos : min(end, len(self.nonce))]
            else:
                offset = pos % _BLOCK
                piece = block[offset : offset + min(end - pos, _BLOCK - offset)]
            yield piece
            pos += len(piece)


def _expect(status: int, wanted: int, what: str, body: bytes) -> None:
    if status != wanted:
        raise ProtocolError(f"{what}: expected HTTP {wanted}, got {status}: {body[:300]!r}")


def _start_upload(conn: Connection, repo: str) -> str:
    response = conn.request("POST", f"/v2/{repo}/blobs/uploads/", {"Content-Length": "0"})
    _expect(response.status, 202, "POST upload", response.body)
    return target_of(response.header("Location"))


def _verify_pushed(conn: Connection, repo: str, content: BlobContent, digest_header: str) -> None:
    """The server's digest and a HEAD of the new blob must both agree with what was sent."""
    if digest_header != content.digest:
        raise ProtocolError(f"server reported digest {digest_header}, sent {content.digest}")
    head = conn.request("HEAD", f"/v2/{repo}/blobs/{content.digest}")
    _expect(head.status, 200, "HEAD pushed blob", head.body)
    if int(head.header("Content-Length")) != content.size:
        raise ProtocolError(f"pushed {content.size} bytes, HEAD says {head.headers}")


def push_monolithic(conn: Connection, repo: str, content: BlobContent) -> int:
    """POST a session, then PUT the whole body with ``?digest=`` (OCI distribution-spec §POST then PUT)."""
    target = with_query(_start_upload(conn, repo), "digest", content.digest)
    headers = {"Content-Type": _OCTETS, "Content-Length": str(content.size)}
    response = conn.request("PUT", target, headers, content.parts(0, content.size))
    _expect(response.status, 201, "PUT blob", response.body)
    _verify_pushed(conn, repo, content, response.header("Docker-Content-Digest"))
    return content.size


def push_chunked(conn: Connection, repo: str, content: BlobContent, chunk: int) -> int:
    """POST a session, PATCH ``chunk``-sized pieces with Content-Range, then an empty PUT."""
    target = _start_upload(conn, repo)
    for start in range(0, content.size, chunk):
        end = min(start + chunk, content.size)
        headers = {
            "Content-Type": _OCTETS,
            "Content-Length": str(end - start),
            "Content-Range": f"{start}-{end - 1}",
        }
        response = conn.request("PATCH", target, headers, content.parts(start, end))
        _expect(response.status, 202, "PATCH chunk", response.body)
        target = target_of(response.header("Location"))
    response = conn.request(
        "PUT", with_query(target, "digest", content.digest), {"Content-Length": "0"}
    )
    _expect(response.status, 201, "PUT final", response.body)
    _verify_pushed(conn, repo, content, response.header("Docker-Content-Digest"))
    return content.size


def pull(conn: Connection, repo: str, digest: str, size: int, *, verify: bool = False) -> int:
    """GET the whole blob; with ``verify`` its bytes are hashed and compared with ``digest``."""
    hasher = hashlib.sha256() if verify else None
    response = conn.request(
        "GET",
        f"/v2/{repo}/blobs/{digest}",
        sink=hasher.update if hasher is not None else None,
        collect=False,
    )
    _expect(response.status, 200, "GET blob", b"")
    if response.length != size:
        raise ProtocolError(f"GET blob returned {response.length} bytes, expected {size}")
    if hasher is not None and "sha256:" + hasher.hexdigest() != digest:
        raise ProtocolError(f"GET blob returned content whose digest is not {digest}")
    return size


def pull_range(conn: Connection, repo: str, digest: str, start: int, end: int) -> int:
    """GET ``bytes=start-end`` (inclusive) of a blob: 206 with exactly that many bytes."""
    response = conn.request(
        "GET",
        f"/v2/{repo}/blobs/{digest}",
        {"Range": f"bytes={start}-{end}"},
        collect=False,
    )
    _expect(response.status, 206, "GET blob range", b"")
    if response.length != end - start + 1:
        raise ProtocolError(f"range returned {response.length} bytes, expected {end - start + 1}")
    return response.length
