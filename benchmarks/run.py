"""Run cargohold and CNCF Distribution side by side: ``python -m benchmarks.run [--quick] [--workload NAME]``.

For each mode (pinned, unpinned) both servers are started on their own seeded copy of the same
storage layout, the machine's ceilings are measured, and each workload runs its repetitions
interleaved (cargohold, Distribution, cargohold, ...). Results go to ``--out`` as JSON, Markdown
and PNG plots; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import blobs, ceilings, report, tools
from benchmarks.context import Bench, Target
from benchmarks.httpclient import Connection
from benchmarks.registries import (
    cargohold_accepts_workers,
    cargohold_workers,
    start_registry,
    wait_idle,
)
from benchmarks.seed import PULL_REPO, Seeded, blob_path, seed_root
from benchmarks.settings import FULL, MODES, QUICK, REPO_ROOT, SERVERS, Settings
from benchmarks.snapshot import snapshot_cargohold
from benchmarks.workloads import BY_NAME, WORKLOADS, Workload
from cargohold.testing.redis_server import RedisServer

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results"


def _version(command: Sequence[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def machine_info() -> dict[str, Any]:
    """CPU, memory, kernel and tool versions, for the record."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        mem_kib = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": mem_kib / 1024 / 1024,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "cargohold": importlib.metadata.version("cargohold"),
        "distribution": _version(["docker-registry", "--version"]),
        "wrk": _version(["wrk", "-v"]),
        "ab": _version(["ab", "-V"]),
        "nginx": _version(["nginx", "-v"]),
        "skopeo": _version(["skopeo", "--version"]),
    }


def _loadavg() -> str:
    with open("/proc/loadavg") as loadavg:
        return loadavg.read().strip()


def _needed_commands(workloads: Sequence[Workload]) -> set[str]:
    needed = {"docker-registry", "taskset", "wrk", "ab", "nginx"}  # last three: the ceilings
    if any(w.name.startswith("skopeo") for w in workloads):
        needed.add("skopeo")
    return needed


def _seed_all(workdir: Path, settings: Settings) -> dict[str, tuple[Path, Seeded]]:
    """Seed one root per server, in parallel processes; the content is identical."""
    roots = {kind: workdir / kind / "root" for kind in SERVERS}
    with concurrent.futures.ProcessPoolExecutor(len(roots)) as pool:
        futures = {kind: pool.submit(seed_root, root, settings) for kind, root in roots.items()}
        return {kind: (roots[kind], futures[kind].result()) for kind in SERVERS}


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def run_order(run: int) -> tuple[str, ...]:
    """The servers' turn order in run ``run``: it alternates, so an effect one run leaves on
    the next (a freed page cache the other server reuses warm) favours each server equally."""
    return SERVERS if run % 2 == 0 else tuple(reversed(SERVERS))


def run_mode(
    settings: Settings,
    mode: str,
    workloads: Sequence[Workload],
    workdir: Path,
    seeded: dict[str, tuple[Path, Seeded]],
) -> tuple[dict[str, list[float]], list[report.WorkloadResult]]:
    """Ceilings and every workload in one mode, the servers taking turns run by run."""
    bench = Bench(settings, mode, workdir / mode)
    bench.workdir.mkdir(parents=True, exist_ok=True)
    root, seed = seeded["cargohold"]
    needed = {c for w in workloads for c in w.ceilings}
    _log(f"[{mode}] static ceilings: {', '.join(sorted(needed - ceilings.TRANSFER_CEILINGS))}")
    measured = ceilings.measure_static(bench, needed - ceilings.TRANSFER_CEILINGS)
    for name, values in measured.items():
        _log(f"[{mode}]   {name}: {statistics.median(values):,.0f} {ceilings.CEILING_UNITS[name]}")
    targets: dict[str, Target] = {}
    results: list[report.WorkloadResult] = []
    transfer = ceilings.TransferCeilings(bench, blob_path(root, seed.pull_digest), seed.pull_size)
    with transfer, contextlib.ExitStack() as stack:
        for kind in SERVERS:
            root, seed = seeded[kind]
            registry = start_registry(kind, root, bench.workdir / kind, settings, mode)
            stack.callback(registry.stop)
            targets[kind] = Target(kind, registry, root, seed)
            # A verified pull: the servers agree on the content, and its pages are now cached.
            with Connection("127.0.0.1", registry.port) as conn:
                blobs.pull(conn, PULL_REPO, seed.pull_digest, seed.pull_size, verify=True)
        for workload in workloads:
            result = report.WorkloadResult(workload, mode)
            results.append(result)
            rotating = [c for c in workload.ceilings if c in ceilings.TRANSFER_CEILINGS]
            try:
                if workload.warmup:
                    for kind in SERVERS:
                        workload.run(bench, targets[kind], -1)
                        wait_idle(targets[kind].registry.pid)
                    _log(f"[{mode}] {workload.name}: one untimed warm-up run per server done")
                for run in range(settings.runs):
                    for kind in run_order(run):
                        # The ceilings run right before each server's turn: they are sampled in
                        # the same noise, and each server starts from the state they leave (for
                        # a push, a page cache just freed), not from the other server's leftovers.
                        for ceiling in rotating:
                            value = transfer.sample(ceiling)
                            result.ceiling_samples.setdefault(ceiling, []).append(value)
                            measured.setdefault(ceiling, []).append(value)
                        sample = workload.run(bench, targets[kind], run)
                        result.samples[kind].append(sample)
                        drained = wait_idle(targets[kind].registry.pid)
                        if drained > 1.0:  # it kept working after the load stopped
                            sample.extra["drain_s"] = drained
                        flags = f" non-2xx={sample.non2xx} errors={sample.errors}"
                        _log(
                            f"[{mode}] {workload.name} {run + 1}/{settings.runs} {kind}: "
                            f"{sample.value:,.2f} {workload.unit}"
                            + (flags if sample.non2xx or sample.errors else "")
                            + (f" (busy {drained:.0f} s after the run)" if drained > 1.0 else "")
                        )
            except Exception as exc:
                result.error = f"{type(exc).__name__}: {exc}"
                _log(f"[{mode}] {workload.name} FAILED: {result.error}")
    return measured, results


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--workload", action="append", choices=sorted(BY_NAME), help="repeatable; default: all"
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and 1 s runs: a smoke test"
    )
    parser.add_argument("--mode", choices=[*MODES, "both"], default="both")
    parser.add_argument("--runs", type=int, help="interleaved runs per server (default 3; quick 1)")
    parser.add_argument("--duration", type=float, help="seconds per small-request run (default 10)")
    parser.add_argument(
        "--warmup", type=float, help="unmeasured seconds before each small-request run (default 3)"
    )
    parser.add_argument(
        "--cache",
        choices=["inmemory", "redis", "none"],
        help="blob descriptor cache of both servers (redis: a redis-server the harness starts)",
    )
    parser.add_argument(
        "--cargohold-workers", type=int, help="http.workers for cargohold, if supported"
    )
    parser.add_argument(
        "--cargohold-directwrites",
        action=argparse.BooleanOptionalAction,
        help="storage.filesystem.directwrites for cargohold (default: its own, off)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    parser.add_argument(
        "--workdir", type=Path, help="where temporary roots go (default: system temp)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for workload in WORKLOADS:
            print(f"{workload.name:24} {workload.title} ({workload.unit})")
        return 0
    settings = (QUICK if args.quick else FULL).with_overrides(
        runs=args.runs,
        small_duration=args.duration,
        small_warmup=args.warmup,
        cache=None if args.cache is None else ("" if args.cache == "none" else args.cache),
        cargohold_workers=args.cargohold_workers,
        cargohold_directwrites=args.cargohold_directwrites,
    )
    workloads = [BY_NAME[n] for n in args.workload] if args.workload else list(WORKLOADS)
    modes = list(MODES) if args.mode == "both" else [args.mode]
    tools.ensure_commands(_needed_commands(workloads))
    if not args.no_plots:
        tools.ensure_modules(["matplotlib"])
    if "pinned" in modes and len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("pinned mode needs cores 0 and 1")
    started, clock, load_before = datetime.now(UTC), time.monotonic(), _loadavg()
    workdir = Path(tempfile.mkdtemp(prefix="cargohold-bench-", dir=args.workdir))
    all_ceilings: dict[str, Any] = {}
    all_results: list[dict[str, Any]] = []
    stack = contextlib.ExitStack()
    try:
        if settings.cache == "redis":
            redis = stack.enter_context(RedisServer(workdir / "redis"))
            settings = settings.with_overrides(redis_addr=redis.addr)
        measured_source = snapshot_cargohold(workdir)
        _log(f"measuring cargohold {measured_source['tree_sha256'][:12]} from {workdir}")
        _log(f"seeding two roots in {workdir}")
        seeded = _seed_all(workdir, settings)
        for mode in modes:
            measured, results = run_mode(settings, mode, workloads, workdir, seeded)
            medians = {k: statistics.median(v) for k, v in measured.items()}
            all_ceilings[mode] = {k: {"median": medians[k], "runs": v} for k, v in measured.items()}
            all_results += [r.to_json(medians) for r in results]
        doc = {
            "started": started.isoformat(timespec="seconds"),
            "wall_seconds": time.monotonic() - clock,
            "quick": args.quick,
            "modes": modes,
            "machine": machine_info(),
            # Other tenants of the machine add noise; interleaving spreads it over both servers.
            "loadavg": {"start": load_before, "end": _loadavg()},
            "settings": settings.to_json(),
            "cargohold_source": measured_source,
            "cargohold_accepts_workers": cargohold_accepts_workers(),
            "cargohold_workers": {m: cargohold_workers(settings, m) for m in modes},
            "ceiling_units": ceilings.CEILING_UNITS,
            "ceilings": all_ceilings,
            "results": all_results,
        }
        for path in report.write(doc, args.out, plots=not args.no_plots):
            _log(f"wrote {path}")
    finally:
        stack.close()
        if args.keep:
            _log(f"kept {workdir}")
        else:
            # rm is several times faster than shutil.rmtree on the 300,000 seeded entries.
            subprocess.run(["rm", "-rf", "--one-file-system", str(workdir)], check=False)
    return 1 if any(r["error"] for r in all_results) else 0


if __name__ == "__main__":
    sys.exit(main())
