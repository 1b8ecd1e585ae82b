"""Pre-fork serving: one supervisor, ``http.workers`` processes sharing the listening sockets.

The supervisor binds the API listener (TCP or unix, TLS is applied per worker) and the debug
listener once, then forks the workers; the kernel spreads connections over the processes
accepting on the shared sockets, so ``:0`` ports and unix sockets work as with one process.
Each worker builds its own application (event loop, storage driver, Redis pool, tracer) after
the fork and runs :func:`cargohold.cli.serve.run_server` on the inherited sockets.

Metrics: every worker records into prometheus_client's multiprocess files in a temporary
directory the supervisor owns (:mod:`cargohold.metrics.multiprocess`), so a scrape answered by
any worker covers all of them. Upload purging runs in worker 0 only.

Signals: SIGTERM or SIGINT make the supervisor close its copy of the listeners and pass SIGTERM
to every worker, which stops accepting and drains for up to ``http.draintimeout``; the
supervisor exits 0 once all of them exited 0. Workers still alive ``_KILL_GRACE`` seconds after
the drain timeout are killed. A worker that dies while serving is replaced; one that dies
before listening stops the whole server (a start-up error would only repeat).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Final, NoReturn

from cargohold.cli.serve import (
    AppFactory,
    build_ssl_context,
    debug_message,
    event_loop_factory,
    listener_url,
    listening_message,
    run_coroutine,
    run_server,
)
from cargohold.config import Config, HTTPConfig, split_host_port
from cargohold.metrics import multiprocess

__all__ = ["Supervisor", "bind_listener", "bind_tcp"]

log = logging.getLogger("cargohold.serve")

_SIGNALS: Final = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}
_BACKLOG: Final = 128
# Seconds past the drain timeout before workers that did not exit are killed.
_KILL_GRACE: Final = 10.0
# More replacements than this within _RESPAWN_WINDOW seconds means a crash loop: give up.
_RESPAWN_LIMIT: Final = 10
_RESPAWN_WINDOW: Final = 60.0


def bind_tcp(addr: str) -> socket.socket:
    """A listening TCP socket on Go's ``HOST:PORT``; an empty host listens on all interfaces."""
    host, port = split_host_port(addr)
    if host is None and socket.has_dualstack_ipv6():
        return socket.create_server(
            ("", port), family=socket.AF_INET6, backlog=_BACKLOG, dualstack_ipv6=True
        )
    return socket.create_server((host or "", port), backlog=_BACKLOG)


def bind_listener(http: HTTPConfig) -> socket.socket:
    """The API's listening socket for ``http.net``/``http.addr``; a stale unix socket is replaced."""
    if http.net != "unix":
        return bind_tcp(http.addr)
    with contextlib.suppress(FileNotFoundError):
        if os.path.exists(http.addr) and not os.path.isfile(http.addr):
            os.unlink(http.addr)  # asyncio's create_unix_server does the same
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(http.addr)
        sock.listen(_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


class Supervisor:
    """Forks and watches the workers of one ``serve``; :meth:`run` returns the exit code."""

    def __init__(
        self,
        config: Config,
        app_factory: AppFactory,
        workers: int,
        announce: Callable[[str], None] = print,
    ) -> None:
        self.config = config
        self.app_factory = app_factory
        self.workers = workers
        self.announce = announce
        self.pids: dict[int, int] = {}  # pid -> worker index
        self.failed = False
        self._respawns: list[float] = []

    def run(self) -> int:
        """Bind, fork, announce, supervise until stopped; raises OSError/SSLError before forking."""
        build_ssl_context(self.config.http.tls)  # unreadable TLS files fail here, not N times
        self.sock = bind_listener(self.config.http)
        self.debug_sock: socket.socket | None = None
        metrics_dir = tempfile.mkdtemp(prefix="cargohold-metrics-")
        self._ready_r, self._ready_w = os.pipe()
        previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            if self.config.http.debug.addr:
                self.debug_sock = bind_tcp(self.config.http.debug.addr)
            multiprocess.enable(metrics_dir)
            for index in range(self.workers):
                self._spawn(index)
            if not self._wait_ready():
                self._stop_all(signal.SIGTERM)
                self._reap_all(self.config.http.draintimeout.total_seconds() + _KILL_GRACE)
                return 1
            self._announce()
            return self._supervise()
        finally:
            self._stop_all(signal.SIGKILL)
            self._reap_all(_KILL_GRACE)
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
            self._close_listeners()
            os.close(self._ready_r)
            os.close(self._ready_w)
            shutil.rmtree(metrics_dir, ignore_errors=True)
            multiprocess.disable()

    def _announce(self) -> None:
        scheme = "https" if self.config.http.tls.enabled else "http"
        self.announce(listening_message(listener_url(self.sock.getsockname(), scheme), self.config))
        if self.debug_sock is not None:
            self.announce(debug_message(listener_url(self.debug_sock.getsockname(), "http")))
        log.info("serving with %d worker processes: %s", self.workers, sorted(self.pids))

    def _close_listeners(self) -> None:
        if self.sock.fileno() != -1 and self.config.http.net == "unix":
            with contextlib.suppress(OSError):
                os.unlink(self.config.http.addr)
        self.sock.close()
        if self.debug_sock is not None:
            self.debug_sock.close()

    def _spawn(self, index: int) -> None:
        pid = os.fork()
        if pid == 0:
            self._worker(index)
        self.pids[pid] = index

    def _worker_config(self, index: int) -> Config:
        """Worker 0 purges old uploads; the others would only repeat its work."""
        if index == 0:
            return self.config
        storage = self.config.storage
        maintenance = storage.maintenance.model_copy(
            update={
                "uploadpurging": storage.maintenance.uploadpurging.model_copy(
                    update={"enabled": False}
                )
            }
        )
        return self.config.model_copy(
            update={"storage": storage.model_copy(update={"maintenance": maintenance})}
        )

    def _worker(self, index: int) -> NoReturn:
        """The child's whole life: serve on the inherited sockets, then leave without cleanup."""
        code = 1
        try:
            for sig in _SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
            config = self._worker_config(index)

            def ready(url: str) -> None:
                os.write(self._ready_w, b".")

            async def main() -> None:
                app = self.app_factory(config)
                await run_server(
                    app,
                    config.http,
                    on_listening=ready,
                    sock=self.sock,
                    debug_sock=self.debug_sock,
                )

            run_coroutine(main(), event_loop_factory())
            code = 0
        except BaseException:
            log.exception("worker %d (pid %d) failed", index, os.getpid())
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            # Never return into the supervisor's code (click, finally blocks) in the child.
            os._exit(code)

    def _wait_ready(self) -> bool:
        """Wait until every worker listens; False if one exits first or a stop signal comes."""
        ready = 0
        while ready < self.workers:
            readable, _, _ = select.select([self._ready_r], [], [], 0.1)
            if readable:
                ready += len(os.read(self._ready_r, self.workers))
            exited = self._reap()
            for pid, index, status in exited:
                multiprocess.process_dead(pid)
                log.error(
                    "worker %d (pid %d) exited before listening (%s)", index, pid, _describe(status)
                )
            if exited:
                return False
            if signal.sigtimedwait({signal.SIGTERM, signal.SIGINT}, 0) is not None:
                log.info("stop requested while starting")
                return False
        return True

    def _supervise(self) -> int:
        deadline: float | None = None
        while self.pids:
            timeout = 1.0 if deadline is None else max(deadline - time.monotonic(), 0.0)
            info = signal.sigtimedwait(_SIGNALS, timeout)
            self._drain_ready()
            stop = info is not None and info.si_signo in (signal.SIGTERM, signal.SIGINT)
            if stop and deadline is None:
                log.info("stopping: draining %d workers", len(self.pids))
                self._close_listeners()
                self._stop_all(signal.SIGTERM)
                drain = self.config.http.draintimeout.total_seconds()
                deadline = time.monotonic() + drain + _KILL_GRACE
            for pid, index, status in self._reap():
                self._exited(pid, index, status, stopping=deadline is not None)
            if deadline is not None and time.monotonic() >= deadline and self.pids:
                log.error("workers %s did not stop in time: killing them", sorted(self.pids))
                self.failed = True
                self._stop_all(signal.SIGKILL)
                deadline = time.monotonic() + _KILL_GRACE
        return 1 if self.failed else 0

    def _exited(self, pid: int, index: int, status: int, *, stopping: bool) -> None:
        multiprocess.process_dead(pid)
        if stopping:
            # Killed by our SIGTERM: a replacement still starting, with nothing in flight.
            if os.waitstatus_to_exitcode(status) not in (0, -signal.SIGTERM):
                self.failed = True
                log.error("worker %d (pid %d) stopped with %s", index, pid, _describe(status))
            return
        now = time.monotonic()
        self._respawns = [t for t in self._respawns if now - t < _RESPAWN_WINDOW]
        if len(self._respawns) >= _RESPAWN_LIMIT:
            log.error("workers keep dying (%s): stopping", _describe(status))
            self.failed = True
            self._close_listeners()
            self._stop_all(signal.SIGTERM)
            return
        self._respawns.append(now)
        log.error("worker %d (pid %d) died (%s): starting another", index, pid, _describe(status))
        self._spawn(index)

    def _drain_ready(self) -> None:
        """Discard replacement workers' ready bytes so the pipe never fills."""
        while select.select([self._ready_r], [], [], 0)[0]:
            os.read(self._ready_r, 1024)

    def _reap(self) -> list[tuple[int, int, int]]:
        """Workers that exited since the last call (pid, index, wait status), forgotten here."""
        exited = []
        while self.pids:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:  # no child left at all
                break
            if pid == 0:
                break
            if pid in self.pids:
                exited.append((pid, self.pids.pop(pid), status))
        return exited

    def _stop_all(self, sig: signal.Signals) -> None:
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def _reap_all(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for every worker to exit (they were signalled)."""
        deadline = time.monotonic() + timeout
        while self.pids and time.monotonic() < deadline:
            for pid, _, _ in self._reap():
                multiprocess.process_dead(pid)
            if self.pids:
                time.sleep(0.05)


def _describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
