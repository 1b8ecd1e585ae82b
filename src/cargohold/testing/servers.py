"""Start and stop real registry processes (cargohold or CNCF Distribution) for integration tests.

Both servers read the same ``config.yml`` shape, so one :class:`RegistryProcess` drives either:
it writes the config, starts the process with output captured to a log file, waits until
``GET /v2/`` answers 200 (OCI distribution-spec §end-1) and terminates it on exit.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

import yaml

import cargohold
from cargohold.testing.lifecycle import ServerLifecycle

__all__ = [
    "CARGOHOLD_MODULE",
    "DISTRIBUTION_BINARY",
    "RegistryProcess",
    "RegistryStartError",
    "StartRegistry",
    "cargohold_command",
    "cargohold_config",
    "cargohold_process",
    "distribution_command",
    "distribution_config",
    "distribution_process",
    "free_port",
    "registry_process",
]

DISTRIBUTION_BINARY: Final = "docker-registry"
CARGOHOLD_MODULE: Final = "cargohold.cli.main"
LOOPBACK: Final = "127.0.0.1"

#: Seconds to wait for ``GET /v2/`` to answer 200 after the process starts.
STARTUP_TIMEOUT: Final = 20.0
#: Seconds to wait after SIGTERM before resorting to SIGKILL.
STOP_TIMEOUT: Final = 10.0
_POLL_INTERVAL: Final = 0.05
_LOG_TAIL_LINES: Final = 40
_SRC = str(Path(cargohold.__file__).resolve().parents[1])

# Loopback probes must never go through an HTTP proxy configured in the environment.
_OPENER: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class RegistryStartError(RuntimeError):
    """A registry process could not be started or did not become ready; the message has its log."""


def free_port() -> int:
    """Return a TCP port on the loopback interface that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def distribution_config(rootdir: Path, port: int, *, delete: bool = True) -> dict[str, Any]:
    """A minimal CNCF Distribution ``config.yml`` serving ``rootdir`` on ``127.0.0.1:port``."""
    return {
        "version": "0.1",
        "log": {"level": "info"},
        "storage": {
            "filesystem": {"rootdirectory": str(rootdir)},
            "delete": {"enabled": delete},
        },
        "http": {"addr": f"{LOOPBACK}:{port}"},
    }


def cargohold_config(rootdir: Path, port: int, *, delete: bool = True) -> dict[str, Any]:
    """The cargohold config for the same setup; it is Distribution's format by design."""
    return distribution_config(rootdir, port, delete=delete)


def distribution_command(config_path: Path) -> list[str]:
    """Command line for CNCF Distribution; fails loudly when the binary is not installed."""
    binary = shutil.which(DISTRIBUTION_BINARY)
    if binary is None:
        raise RegistryStartError(
            f"{DISTRIBUTION_BINARY!r} is not on PATH: install the Debian package 'docker-registry'"
        )
    return [binary, "serve", str(config_path)]


def cargohold_command(config_path: Path) -> list[str]:
    """Command line for ``cargohold serve`` run by this interpreter, so the tested tree is used."""
    if importlib.util.find_spec(CARGOHOLD_MODULE) is None:
        raise RegistryStartError(
            f"module {CARGOHOLD_MODULE!r} is missing: 'cargohold serve' cannot be started"
        )
    return [sys.executable, "-m", CARGOHOLD_MODULE, "serve", str(config_path)]


class RegistryProcess(ServerLifecycle):
    """One registry subprocess, usable as a sync or async context manager.

    Entering writes ``config`` to ``workdir/config.yml``, starts ``command`` (a callable of the
    config path) and returns once ``GET /v2/`` answers 200; exiting sends SIGTERM, then SIGKILL.
    Startup failures raise :class:`RegistryStartError` carrying the tail of the process log.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        config: Mapping[str, Any],
        workdir: Path,
        port: int,
        *,
        config_path: Path | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.config = dict(config)
        self.workdir = workdir
        self.port = port
        self.config_path = config_path or workdir / "config.yml"
        self.log_path = workdir / f"{name}.log"
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"RegistryProcess({self.name!r}, {self.url!r})"

    @property
    def host(self) -> str:
        """``host:port`` as clients such as skopeo and oras expect it."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        """Base URL without a trailing slash."""
        return f"http://{self.host}"

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the captured stdout/stderr."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"

    def start(self) -> None:
        """Write the config, start the process and wait until it serves ``GET /v2/``."""
        if self._process is not None:
            raise RegistryStartError(f"{self.name} is already started")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        # REGISTRY_* variables override config keys in both servers; keep the test's config exact.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        # The child imports the same cargohold as the test, whatever an install elsewhere says.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_SRC, env.get("PYTHONPATH")]))
        with self.log_path.open("ab") as log:
            try:
                self._process = subprocess.Popen(
                    self.command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    env=env,
                )
            except OSError as exc:
                raise RegistryStartError(f"cannot start {self.name}: {exc}") from exc
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> int | None:
        """Terminate the process (SIGTERM, then SIGKILL) and return its exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                return process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
        return process.wait(timeout=self.stop_timeout)

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no attempt made"
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise RegistryStartError(
                    f"{self.name} exited with code {code} before serving {self.url}/v2/;"
                    f" command {self.command}; log tail:\n{self.log_tail()}"
                )
            status, last_error = _probe(f"{self.url}/v2/")
            if status == 200:
                return
            time.sleep(_POLL_INTERVAL)
        raise RegistryStartError(
            f"{self.name} did not answer 200 on {self.url}/v2/ within {self.startup_timeout}s"
            f" (last: {last_error}); log tail:\n{self.log_tail()}"
        )

    def close(self) -> None:
        """Stop the process (the context managers' exit)."""
        self.stop()


def _probe(url: str) -> tuple[int | None, str]:
    """One ``GET`` with a short timeout: the status (None if unreachable) and a description."""
    try:
        with _OPENER.open(url, timeout=1.0) as response:
            status: int = response.status
            return status, f"HTTP {status}"
    except urllib.error.HTTPError as exc:
        with contextlib.closing(exc):
            return exc.code, f"HTTP {exc.code}"
    except (OSError, http.client.HTTPException) as exc:
        return None, repr(exc)


def distribution_process(
    rootdir: Path, workdir: Path, *, port: int | None = None, delete: bool = True
) -> RegistryProcess:
    """A (not yet started) CNCF Distribution serving ``rootdir``."""
    port = port or free_port()
    config_path = workdir / "config.yml"
    return RegistryProcess(
        "distribution",
        distribution_command(config_path),
        distribution_config(rootdir, port, delete=delete),
        workdir,
        port,
        config_path=config_path,
    )


def cargohold_process(
    rootdir: Path, workdir: Path, *, port: int | None = None, delete: bool = True
) -> RegistryProcess:
    """A (not yet started) ``cargohold serve`` on ``rootdir``."""
    port = port or free_port()
    config_path = workdir / "config.yml"
    return RegistryProcess(
        "cargohold",
        cargohold_command(config_path),
        cargohold_config(rootdir, port, delete=delete),
        workdir,
        port,
        config_path=config_path,
    )


class StartRegistry(Protocol):
    """Start a registry of ``kind`` on ``rootdir`` (a fresh one if None) and return it running."""

    def __call__(
        self, kind: str, rootdir: Path | None = None, *, delete: bool = True
    ) -> RegistryProcess: ...


def registry_process(
    kind: str, rootdir: Path, workdir: Path, *, port: int | None = None, delete: bool = True
) -> RegistryProcess:
    """Dispatch on ``kind`` (``"cargohold"`` or ``"distribution"``)."""
    if kind == "cargohold":
        return cargohold_process(rootdir, workdir, port=port, delete=delete)
    if kind == "distribution":
        return distribution_process(rootdir, workdir, port=port, delete=delete)
    raise ValueError(f"unknown registry kind {kind!r}")
