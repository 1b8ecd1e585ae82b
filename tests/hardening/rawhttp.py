"""Raw HTTP/1.1 over sockets, a seeded registry, storage snapshots and the table-case runner.

A normal client would fix or refuse what these tests send (CRLF or NUL in a target, lying
``Content-Length``, both ``Content-Length`` and ``Transfer-Encoding``), so requests are bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDict

from cargohold.api.errcode import ERROR_CODES
from cargohold.errors import PathNotFound
from cargohold.storage import paths
from cargohold.storage.driver.base import StorageDriver

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

REPO = "seed/repo"
CONFIG = b'{"architecture":"amd64","os":"linux"}'
LAYER = bytes(range(256)) * 4
UPLOADED = b"0123456789"  # what the open session {upload} holds
RESPONSE_TIMEOUT = 15.0


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data)}


def image_manifest(config: bytes = CONFIG, layers: tuple[bytes, ...] = (LAYER,)) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, config),
            "layers": [descriptor(OCI_LAYER, layer) for layer in layers],
        }
    ).encode()


MANIFEST = image_manifest()


@dataclass
class Live:
    """A running registry: its port, its driver and the placeholders seeding filled in."""

    port: int
    driver: StorageDriver
    values: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fill(self, raw: bytes) -> bytes:
        """Replace ``{name}`` placeholders with seeded values."""
        for key, value in self.values.items():
            raw = raw.replace(f"{{{key}}}".encode(), value.encode())
        return raw


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: CIMultiDict[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    method: str,
    target: str | bytes,
    headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
    body: bytes = b"",
    *,
    length: bool = True,
) -> bytes:
    """An HTTP/1.1 request as bytes; ``Content-Length`` is added for a body unless ``length`` is
    false or the caller set framing headers itself."""
    target_bytes = target.encode("latin-1") if isinstance(target, str) else target
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    names = {k.lower() for k, _ in items}
    lines = [method.encode() + b" " + target_bytes + b" HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [f"{k}: {v}".encode() for k, v in items]
    if "connection" not in names:
        lines.append(b"Connection: close")
    if (
        length
        and (body or method in ("PUT", "POST", "PATCH"))
        and not ({"content-length", "transfer-encoding"} & names)
    ):
        lines.append(f"Content-Length: {len(body)}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _dechunk(data: bytes) -> bytes:
    out, rest = bytearray(), data
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2 :]
    return bytes(out)


def parse_response(data: bytes, *, head: bool = False) -> RawResponse | None:
    """Parse the first response in ``data``; None when the server sent nothing."""
    if not data:
        return None
    header_block, _, rest = data.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.add(name.strip(), value.strip())
    if head or status in (204, 304):
        body = b""
    elif headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = _dechunk(rest)
    elif "Content-Length" in headers:
        body = rest[: int(headers["Content-Length"])]
    else:
        body = rest
    return RawResponse(status, headers, body)


async def send(live: Live, raw: bytes, *, half_close: bool = False) -> RawResponse | None:
    """Send ``raw`` (placeholders filled) on a new connection and read until the server closes.

    With ``half_close`` the client shuts its sending side after the request, as a client whose
    body ends early does. None means the connection closed without a response.
    """
    raw = live.fill(raw)
    reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
    try:
        writer.write(raw)
        await writer.drain()
        if half_close:
            sock = writer.get_extra_info("socket")
            sock.shutdown(socket.SHUT_WR)
        data = b""
        async with asyncio.timeout(RESPONSE_TIMEOUT):
            while not _complete(data, head=raw.startswith(b"HEAD ")):
                try:
                    chunk = await reader.read(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                data += chunk
    finally:
        writer.close()
    return parse_response(data, head=raw.startswith(b"HEAD "))


def _complete(data: bytes, *, head: bool) -> bool:
    """Whether ``data`` holds one whole response (so the server need not close first)."""
    block, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    lines = block.decode("latin-1").lower().split("\r\n")
    status = lines[0].split(" ")
    if head or (len(status) > 1 and status[1] in ("204", "304")):
        return True
    for line in lines[1:]:
        if line.startswith("content-length:"):
            return len(rest) >= int(line.split(":", 1)[1])
        if line.startswith("transfer-encoding:") and "chunked" in line:
            return rest.endswith(b"0\r\n\r\n")
    return False


async def snapshot(driver: StorageDriver) -> dict[str, bytes | None]:
    """Every path under the registry root: file contents, None for directories."""
    out: dict[str, bytes | None] = {}
    try:
        async for info in driver.walk(paths.ROOT):
            out[info.path] = None if info.is_dir else await driver.get_content(info.path)
    except PathNotFound:
        pass
    return out


async def seed(live: Live) -> None:
    """Fill ``live`` with a repository and the placeholders the case tables use."""
    async with aiohttp.ClientSession(live.url) as http:

        async def push(repo: str, data: bytes) -> None:
            async with http.post(
                f"/v2/{repo}/blobs/uploads/?digest={sha256(data)}", data=io.BytesIO(data)
            ) as resp:
                assert resp.status == 201, await resp.text()

        async def session(repo: str) -> str:
            async with http.post(f"/v2/{repo}/blobs/uploads/") as resp:
                assert resp.status == 202, await resp.text()
                return resp.headers["Docker-Upload-UUID"]

        await push(REPO, CONFIG)
        await push(REPO, LAYER)
        async with http.put(
            f"/v2/{REPO}/manifests/latest", data=MANIFEST, headers={"Content-Type": OCI_MANIFEST}
        ) as resp:
            assert resp.status == 201, await resp.text()
        upload = await session(REPO)
        async with http.patch(f"/v2/{REPO}/blobs/uploads/{upload}", data=UPLOADED) as resp:
            assert resp.status == 202, await resp.text()
        other = await session("other/repo")
        done = await session(REPO)
        async with http.put(
            f"/v2/{REPO}/blobs/uploads/{done}?digest={sha256(b'')}", data=b""
        ) as resp:
            assert resp.status == 201, await resp.text()
        cancelled = await session(REPO)
        async with http.delete(f"/v2/{REPO}/blobs/uploads/{cancelled}") as resp:
            assert resp.status == 204, await resp.text()
    live.values.update(
        repo=REPO,
        config=sha256(CONFIG),
        blob=sha256(LAYER),
        manifest=sha256(MANIFEST),
        upload=upload,
        other_upload=other,
        done_upload=done,
        cancelled_upload=cancelled,
        missing=sha256(b"never pushed"),
        uploaded=sha256(UPLOADED),
    )


@dataclass(frozen=True)
class Case:
    """One hostile request and what the registry must answer.

    ``status`` None allows the server to close the connection without answering (a body cut
    short), but never a 5xx. ``code`` is the OCI error code (None for a success), ``says`` a
    phrase the error message must contain, ``headers`` exact response header values.
    ``touches_uploads`` allows upload sessions (never anything else) to change: a failed commit
    discards its session, a body cut short leaves what arrived for the client to resume.
    """

    id: str
    raw: bytes
    status: int | None
    code: str | None = None
    says: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    touches_uploads: bool = False
    half_close: bool = False


def assert_error_body(resp: RawResponse, code: str, says: str = "") -> dict[str, Any]:
    """``resp`` carries an OCI error document whose first code is ``code``."""
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp
    assert b"Traceback" not in resp.body
    doc = resp.json()
    assert set(doc) == {"errors"}, doc
    assert doc["errors"], doc
    for error in doc["errors"]:
        assert set(error) == {"code", "message", "detail"}, error
        assert error["code"] in ERROR_CODES, error
        assert isinstance(error["message"], str)
        assert error["message"]
    first: dict[str, Any] = doc["errors"][0]
    assert first["code"] == code, doc
    assert says.lower() in first["message"].lower(), (says, first["message"])
    return first


async def run_case(live: Live, case: Case) -> RawResponse | None:
    """Send the case's request and check status, error body, headers and unchanged storage."""
    before = await snapshot(live.driver)
    resp = await send(live, case.raw, half_close=case.half_close)
    after = await snapshot(live.driver)
    if case.status is None:
        assert resp is None or resp.status < 500, resp
    else:
        assert resp is not None, "the server closed the connection without answering"
        assert resp.status == case.status, (resp.status, resp.body[:500])
    if resp is not None and case.code is not None and not case.raw.startswith(b"HEAD "):
        assert_error_body(resp, case.code, case.says)
    if resp is not None:
        assert resp.headers.get("Docker-Distribution-API-Version") == "registry/2.0"
        for name, value in case.headers.items():
            assert resp.headers.get(name) == live.fill(value.encode()).decode(), (name, resp)
    assert_unchanged(before, after, touches_uploads=case.touches_uploads)
    await assert_still_serving(live)
    return resp


def assert_unchanged(
    before: dict[str, bytes | None],
    after: dict[str, bytes | None],
    *,
    touches_uploads: bool = False,
) -> None:
    """Nothing was added, removed or changed (upload sessions excepted if allowed)."""
    if touches_uploads:
        before = {p: v for p, v in before.items() if "/_uploads/" not in p}
        after = {p: v for p, v in after.items() if "/_uploads/" not in p}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(p for p in set(before) & set(after) if before[p] != after[p])
    changes = {"added": added, "removed": removed, "changed": changed}
    assert not any(changes.values()), changes


async def assert_still_serving(live: Live) -> None:
    """The registry answers a normal request afterwards (nothing wedged)."""
    resp = await send(live, request("GET", "/v2/"))
    assert resp is not None
    assert resp.status == 200
