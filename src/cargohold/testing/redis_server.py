"""A real ``redis-server`` for tests: free loopback port, temporary directory, fault helpers.

::

    with RedisServer() as server:          # or: async with RedisServer() as server
        client = redis.Redis(port=server.port)
        server.kill()                      # SIGKILL: connections drop, the port is refused
        server.restart()                   # same port, empty data (nothing is persisted)
        server.pause(); server.resume()    # SIGSTOP/SIGCONT: connections hang, data is kept

The server persists nothing (``--save "" --appendonly no``) and allows ``DEBUG`` from loopback
(``DEBUG SLEEP`` simulates a slow Redis). A missing ``redis-server`` binary is an error, never a
skip: CI installs the Debian package ``redis-server``.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from cargohold.testing.lifecycle import ServerLifecycle

__all__ = ["REDIS_SERVER_BINARY", "RedisServer", "RedisServerError"]

REDIS_SERVER_BINARY: Final = "redis-server"
LOOPBACK: Final = "127.0.0.1"
STARTUP_TIMEOUT: Final = 10.0
STOP_TIMEOUT: Final = 10.0
_POLL_INTERVAL: Final = 0.01
_PORT_ATTEMPTS: Final = 5


class RedisServerError(RuntimeError):
    """redis-server is missing, did not start, or is not in the state asked for."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    """Whether a Redis on ``port`` answers PING (inline command; NOAUTH counts as an answer)."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


class RedisServer(ServerLifecycle):
    """One ``redis-server`` process on ``127.0.0.1:port``; a sync and async context manager."""

    def __init__(
        self, workdir: Path | None = None, *, port: int | None = None, args: Sequence[str] = ()
    ) -> None:
        """``args`` are extra ``redis-server`` options, e.g. ``("--requirepass", "s3cret")``."""
        binary = shutil.which(REDIS_SERVER_BINARY)
        if binary is None:
            raise RedisServerError(
                f"{REDIS_SERVER_BINARY!r} is not on PATH: install the Debian package 'redis-server'"
            )
        self.binary = binary
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.workdir = workdir
        self.port = port or 0
        self.args = tuple(args)
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"RedisServer({self.addr!r}, running={self.running})"

    @property
    def addr(self) -> str:
        """``host:port``, as the ``redis.addr`` config key spells it."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        return f"redis://{self.addr}/0"

    @property
    def log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "redis.log"

    def start(self) -> None:
        """Start the server (on ``port`` if set, else a free one) and wait until it answers PING."""
        if self.running:
            raise RedisServerError(f"redis-server is already running on {self.addr}")
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="cargohold-redis-")
            self.workdir = Path(self._tmp.name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        fixed = bool(self.port)
        for _ in range(1 if fixed else _PORT_ATTEMPTS):
            if not fixed:
                self.port = _free_port()
            if self._launch():
                return
        raise RedisServerError(
            f"redis-server did not start on {self.addr}; log tail:\n{self._log_tail()}"
        )

    def _launch(self) -> bool:
        assert self.workdir is not None
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", LOOPBACK,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--logfile", str(self.log_path),
            "--daemonize", "no",
            "--enable-debug-command", "local",
            *self.args,
        ]  # fmt: skip
        self._process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:  # e.g. the port was taken meanwhile
                self._process = None
                return False
            if _ping(self.port):
                return True
            time.sleep(_POLL_INTERVAL)
        self.kill()
        return False

    def stop(self) -> None:
        """Terminate gracefully (SIGTERM, then SIGKILL) and wait for the exit."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: the abrupt failure clients see when Redis crashes."""
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        """Start again on the same port (after ``stop``/``kill``, or stopping it first)."""
        if self.running:
            self.stop()
        self.start()

    def pause(self) -> None:
        """SIGSTOP: the server keeps its sockets and data but answers nothing until ``resume``."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop the server and remove a temporary directory created for it."""
        with contextlib.suppress(ProcessLookupError):
            self.resume()  # a stopped process cannot handle SIGTERM
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.workdir = None

    def _signal(self, sig: signal.Signals) -> None:
        if self._process is None or self._process.poll() is not None:
            raise ProcessLookupError(f"redis-server on {self.addr} is not running")
        self._process.send_signal(sig)

    def _end(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=STOP_TIMEOUT)
                return
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait(timeout=STOP_TIMEOUT)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (AssertionError, OSError):
            return "(no log written)"
