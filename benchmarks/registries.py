"""Start cargohold and CNCF Distribution with equivalent configs, optionally pinned, and watch RSS.

Both get filesystem storage on their own copy of the seeded root, deletes enabled and the same
blob descriptor cache. ``pinned`` runs the server under ``taskset -c 0``; the harness then keeps
its load generators on core 1.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any, Final

from benchmarks.settings import SERVERS, Settings
from cargohold.testing.servers import (
    RegistryProcess,
    cargohold_command,
    cargohold_config,
    distribution_command,
    distribution_config,
    free_port,
)

SERVER_CORE: Final = 0
CLIENT_CORE: Final = 1


def cargohold_accepts_workers() -> bool:
    """Whether cargohold's config model has ``http.workers`` (detected, not assumed)."""
    from cargohold.config import HTTPConfig

    return "workers" in HTTPConfig.model_fields


def cargohold_workers(settings: Settings, mode: str) -> int | None:
    """``http.workers`` to set for cargohold, or None to leave its default.

    ``--cargohold-workers`` wins; otherwise a server pinned to one core gets one process (as Go
    sizes GOMAXPROCS from the affinity mask), and unpinned runs keep cargohold's default.
    """
    if settings.cargohold_workers is not None:
        if not cargohold_accepts_workers():
            raise SystemExit("--cargohold-workers: this cargohold has no http.workers setting")
        return settings.cargohold_workers
    if mode == "pinned" and cargohold_accepts_workers():
        return 1
    return None


def server_config(
    kind: str, root: Path, port: int, settings: Settings, mode: str = "unpinned"
) -> dict[str, Any]:
    """The config.yml of ``kind``, identical between the two servers except ``http.workers``."""
    make = cargohold_config if kind == "cargohold" else distribution_config
    config = make(root, port, delete=True)
    config["storage"]["cache"] = {"blobdescriptor": settings.cache}
    if settings.cache == "redis":
        # One redis-server, a database each: the key schema is shared, the entries are not.
        config["redis"] = {"addr": settings.redis_addr, "db": SERVERS.index(kind)}
    # Both purge abandoned uploads in the background; keep that off the measurements.
    config["storage"]["maintenance"] = {"uploadpurging": {"enabled": False}}
    if kind == "cargohold" and settings.cargohold_directwrites is not None:
        config["storage"]["filesystem"]["directwrites"] = settings.cargohold_directwrites
    workers = cargohold_workers(settings, mode) if kind == "cargohold" else None
    if workers is not None:
        config["http"]["workers"] = workers
    return config


class BenchRegistry(RegistryProcess):
    """A registry process whose pid the harness can read for memory measurements."""

    @property
    def pid(self) -> int:
        # RegistryProcess keeps its Popen private; see the report's request for a public pid.
        process = self._process
        if process is None:
            raise RuntimeError(f"{self.name} is not running")
        return process.pid


def start_registry(
    kind: str, root: Path, workdir: Path, settings: Settings, mode: str
) -> BenchRegistry:
    """Start ``kind`` on ``root`` and return it serving; pinned mode runs it on core 0."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yml"
    command = (
        cargohold_command(config_path) if kind == "cargohold" else distribution_command(config_path)
    )
    if mode == "pinned":
        command = ["taskset", "-c", str(SERVER_CORE), *command]
    registry = BenchRegistry(
        kind,
        command,
        server_config(kind, root, port, settings, mode),
        workdir,
        port,
        config_path=config_path,
    )
    registry.start()
    return registry


def _status_kib(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (via /proc/PID/task/TID/children)."""
    out: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        out.append(current)
        task_dir = Path(f"/proc/{current}/task")
        try:
            tasks = list(task_dir.iterdir())
        except FileNotFoundError:
            continue
        for task in tasks:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                stack.extend(int(c) for c in (task / "children").read_text().split())
    return out


def tree_rss_kib(pid: int) -> int:
    """Current resident set of ``pid`` and its descendants, summed (KiB)."""
    return sum(_status_kib(p, "VmRSS") for p in process_tree(pid))


def tree_hwm_kib(pid: int) -> int:
    """Peak resident set (VmHWM) of ``pid`` and its descendants, summed (KiB)."""
    return sum(_status_kib(p, "VmHWM") for p in process_tree(pid))


class RssSampler:
    """Samples the tree's RSS every ``interval`` seconds in a thread; ``peak_kib`` is the maximum."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kib = tree_rss_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, tree_rss_kib(self.pid))


_TICKS: Final = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time consumed so far by ``pid`` and its descendants."""
    return sum(tree_cpu_times(pid))


def tree_cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds consumed so far by ``pid`` and its descendants."""
    user = system = 0
    for proc in process_tree(pid):
        try:
            with open(f"/proc/{proc}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        user += int(fields[11])  # utime, stime: fields 14 and 15 of stat
        system += int(fields[12])
    return user / _TICKS, system / _TICKS


def wait_idle(pid: int, *, window: float = 0.5, busy: float = 0.05, timeout: float = 60.0) -> float:
    """Block until ``pid``'s tree uses under ``busy`` of a core over ``window``; seconds waited.

    A server still working through requests a load generator abandoned would otherwise steal
    the next run's CPU, and that run is the other server's.
    """
    started = time.monotonic()
    last = tree_cpu_seconds(pid)
    while time.monotonic() - started < timeout:
        time.sleep(window)
        now = tree_cpu_seconds(pid)
        if now - last < busy * window:
            break
        last = now
    return time.monotonic() - started
