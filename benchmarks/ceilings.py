"""The machine's own limits, measured in the same run: SHA-256, sendfile and a trivial HTTP reply.

``python -m benchmarks.ceilings sendfile PORT FILE`` serves FILE to any GET (honouring a
``Range: bytes=a-b``) with blocking ``socket.sendfile``, the least work a pull can cost;
``python -m benchmarks.ceilings static PORT`` answers every GET/HEAD with a 2-byte 200 from a
minimal aiohttp app (the framework's bound). :func:`nginx_static` is the machine's bound.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import mmap
import os
import socket
import socketserver
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from benchmarks.context import Bench
from benchmarks.httpclient import Connection
from benchmarks.loadgen import run_load
from benchmarks.registries import SERVER_CORE
from benchmarks.settings import REPO_ROOT, MiB
from cargohold.testing.servers import free_port

_READY_TIMEOUT: Final = 20.0
#: The write size of :func:`durable_write_mbps`.
WRITE_PIECE: Final = 4 * MiB
#: The write size of :func:`page_cache_write_mbps`: on this kind of VM, larger writes make the
#: kernel allocate large folios, which cost several times more (see docs/performance.md).
PAGE_CACHE_PIECE: Final = 128 * 1024


@contextlib.contextmanager
def _on_core(core: int | None) -> Iterator[None]:
    """Run the block on ``core`` (anywhere if None), then restore this process's affinity."""
    before = os.sched_getaffinity(0)
    if core is not None:
        os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def sha256_mbps(total: int, *, core: int | None = None) -> float:
    """hashlib.sha256 throughput over an in-memory buffer (MB/s, 10^6 bytes), on ``core`` if given."""
    buffer = os.urandom(min(total, 64 * MiB))
    with _on_core(core):
        hasher = hashlib.sha256()
        done = 0
        started = time.perf_counter()
        while done < total:
            hasher.update(buffer)
            done += len(buffer)
        elapsed = time.perf_counter() - started
    return done / elapsed / 1e6


def durable_write_mbps(directory: Path, total: int, *, core: int | None = None) -> float:
    """Writing ``total`` fresh bytes durably to a new file in ``directory`` (MB/s): the disk's
    own rate, what no push can beat on the filesystem the registries use.

    The writes bypass the page cache (``O_DIRECT``, 4 MiB at a time, falling back to buffered
    writes where the filesystem refuses it) and an fsync ends them.
    """
    return _write_mbps(directory, total, WRITE_PIECE, direct=True, core=core)


def page_cache_write_mbps(directory: Path, total: int, *, core: int | None = None) -> float:
    """Writing ``total`` fresh bytes to a new file through the page cache, then fsync (MB/s).

    What both registries do by default with every pushed byte: on a VM whose host backs freshly
    used guest memory lazily, the page cache's new pages, not the disk, set this rate.
    """
    return _write_mbps(directory, total, PAGE_CACHE_PIECE, direct=False, core=core)


def _write_mbps(
    directory: Path, total: int, piece: int, *, direct: bool, core: int | None
) -> float:
    """Write ``total`` bytes in ``piece``-sized writes from one reused buffer, fsync, time both.

    The file is removed and the disk drained (``os.sync``) afterwards, so the next run starts
    from the same state.
    """
    buffer = mmap.mmap(-1, piece)  # page aligned, as O_DIRECT needs
    buffer.write(os.urandom(piece))
    path = directory / f"write-ceiling-{os.getpid()}.bin"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = -1
    if direct:
        with contextlib.suppress(OSError):
            fd = os.open(path, flags | os.O_DIRECT, 0o600)
    if fd < 0:
        fd = os.open(path, flags, 0o600)
    try:
        with _on_core(core):
            done = 0
            started = time.perf_counter()
            while done < total:
                # A changing prefix keeps every piece distinct, in case the disk deduplicates.
                buffer[:8] = done.to_bytes(8, "little")
                view = memoryview(buffer)
                while view:
                    view = view[os.write(fd, view) :]
                view.release()
                done += piece
            os.fsync(fd)
            elapsed = time.perf_counter() - started
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
        buffer.close()
        os.sync()
    return done / elapsed / 1e6


class _SendfileHandler(socketserver.StreamRequestHandler):
    """Keep-alive GET/HEAD of one file; the body leaves through ``socket.sendfile``."""

    def handle(self) -> None:
        path: str = self.server.path  # type: ignore[attr-defined]
        size = os.path.getsize(path)
        with open(path, "rb") as blob:
            while True:
                request_line = self.rfile.readline()
                if not request_line:
                    return
                start, end, status = 0, size - 1, "200 OK"
                while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "range":
                        first, _, last = value.strip().removeprefix("bytes=").partition("-")
                        start, end = int(first), int(last or size - 1)
                        status = "206 Partial Content"
                count = end - start + 1
                head = f"HTTP/1.1 {status}\r\nContent-Length: {count}\r\n\r\n"
                self.connection.sendall(head.encode())
                if not request_line.startswith(b"HEAD"):
                    self.connection.sendfile(blob, start, count)


class _SendfileServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _serve_sendfile(port: int, path: str) -> None:
    with _SendfileServer(("127.0.0.1", port), _SendfileHandler) as server:
        server.path = path  # type: ignore[attr-defined]
        server.serve_forever()


def _serve_static(port: int) -> None:
    import uvloop
    from aiohttp import web

    async def reply(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", reply)  # add_get also routes HEAD
    web.run_app(
        app, host="127.0.0.1", port=port, access_log=None, print=None, loop=uvloop.new_event_loop()
    )


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Return once ``127.0.0.1:port`` accepts connections; RuntimeError if ``process`` died first."""
    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port}")


@contextlib.contextmanager
def background(command: Sequence[str], port: int, what: str, log: Path) -> Iterator[None]:
    """Run ``command`` until the block ends, once it listens on ``port``."""
    # The python servers import this package: make it importable from any working directory.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env
        )
    try:
        wait_for_port(port, process, what)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def python_server(kind: str, port: int, *args: str, prefix: Sequence[str] = ()) -> list[str]:
    """The command line of this module's ``sendfile`` or ``static`` server."""
    return [*prefix, sys.executable, "-m", "benchmarks.ceilings", kind, str(port), *args]


_NGINX_CONF: Final = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 100000000;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 "ok"; }}
  }}
}}
"""


def nginx_static(workdir: Path, port: int, *, prefix: Sequence[str] = ()) -> list[str]:
    """Write an nginx config answering every request with a 2-byte 200; return its command."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(dir=workdir, port=port))
    return [*prefix, "nginx", "-c", str(conf), "-p", str(workdir)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ceilings")
    parser.add_argument("kind", choices=["sendfile", "static"])
    parser.add_argument("port", type=int)
    parser.add_argument("file", nargs="?")
    args = parser.parse_args(argv)
    if args.kind == "sendfile":
        if args.file is None:
            parser.error("sendfile needs FILE")
        _serve_sendfile(args.port, args.file)
    else:
        _serve_static(args.port)


if __name__ == "__main__":
    main()


CEILING_UNITS: Final = {
    "sha256": "MB/s",
    "durable-write": "MB/s",
    "page-cache-write": "MB/s",
    "sendfile": "MB/s",
    "sendfile-range": "MB/s",
    "static-nginx-GET": "req/s",
    "static-nginx-HEAD": "req/s",
    "static-aiohttp-GET": "req/s",
    "static-aiohttp-HEAD": "req/s",
}


#: Ceilings sampled inside each workload's rotation (cheap, and noise-sensitive like the workload).
TRANSFER_CEILINGS: Final = frozenset(
    {"sha256", "durable-write", "page-cache-write", "sendfile", "sendfile-range"}
)


class TransferCeilings:
    """SHA-256, write and sendfile ceilings, sampled on demand between the servers' runs.

    The sendfile server runs (on core 0 when pinned) for the life of the context and serves
    ``pull_file`` (``size`` bytes): the very blob the pull workloads fetch, from the page cache.
    """

    def __init__(self, bench: Bench, pull_file: Path, size: int) -> None:
        self.bench = bench
        self.size = size
        self.port = free_port()
        prefix = ("taskset", "-c", str(SERVER_CORE)) if bench.pinned else ()
        self._server = background(
            python_server("sendfile", self.port, str(pull_file), prefix=prefix),
            self.port,
            "sendfile server",
            bench.workdir / "sendfile.log",
        )

    def __enter__(self) -> TransferCeilings:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(None, None, None)

    def sample(self, name: str) -> float:
        """One measurement of ``name`` (a TRANSFER_CEILINGS member), in MB/s."""
        settings = self.bench.settings
        core = SERVER_CORE if self.bench.pinned else None  # where the servers run
        if name == "sha256":
            return sha256_mbps(settings.sha256_bytes, core=core)
        if name == "durable-write":
            return durable_write_mbps(self.bench.workdir, settings.blob_size, core=core)
        if name == "page-cache-write":
            return page_cache_write_mbps(self.bench.workdir, settings.blob_size, core=core)
        with self.bench.client_side(), Connection("127.0.0.1", self.port) as conn:
            started = time.perf_counter()
            if name == "sendfile":
                conn.request("GET", "/", collect=False)
                return self.size / (time.perf_counter() - started) / 1e6
            first = self.size - settings.range_size
            for _ in range(settings.range_repeats):
                conn.request("GET", "/", {"Range": f"bytes={first}-{self.size - 1}"}, collect=False)
            moved = settings.range_size * settings.range_repeats
            return moved / (time.perf_counter() - started) / 1e6


def measure_static(bench: Bench, needed: set[str]) -> dict[str, list[float]]:
    """Measure each static-response ceiling in ``needed`` ``runs`` times; servers on core 0 if pinned."""
    settings = bench.settings
    server_prefix = ("taskset", "-c", str(SERVER_CORE)) if bench.pinned else ()
    out: dict[str, list[float]] = {}
    for server in ("nginx", "aiohttp"):
        methods = [m for m in ("GET", "HEAD") if f"static-{server}-{m}" in needed]
        if not methods:
            continue
        port = free_port()
        if server == "nginx":
            command = nginx_static(bench.workdir / f"nginx-{port}", port, prefix=server_prefix)
        else:
            command = python_server("static", port, prefix=server_prefix)
        with background(command, port, f"{server} static", bench.workdir / f"{server}.log"):
            for _ in range(settings.runs):
                for method in methods:
                    result = run_load(
                        f"http://127.0.0.1:{port}/",
                        method,
                        {},
                        duration=settings.small_duration,
                        connections=settings.small_concurrency,
                        pinned=bench.pinned,
                    )
                    out.setdefault(f"static-{server}-{method}", []).append(result.rps)
    return out
