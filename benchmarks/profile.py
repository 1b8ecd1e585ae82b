"""Profile cargohold under one workload with py-spy: ``python -m benchmarks.profile WORKLOAD``.

Seeds a root, starts cargohold (pinned to core 0, load on core 1), samples it with
``py-spy record --format raw`` while the workload repeats for ``--duration`` seconds, and writes
the collapsed stacks plus a summary of the hottest functions (self and inclusive share of
samples) to ``--out``. py-spy is pip-installed when missing.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.context import Bench, Target
from benchmarks.registries import start_registry
from benchmarks.seed import seed_root
from benchmarks.settings import FULL, REPO_ROOT
from benchmarks.snapshot import tree_digest
from benchmarks.tools import ensure_commands
from benchmarks.workloads import BY_NAME

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "profiles"


_LINE = re.compile(r":\d+\)$")
# Where a sample's time goes: the leaf-most frame matching one of these, checked in this order.
_CATEGORIES = (
    ("logging", re.compile(r"logging/__init__|structlog|cargohold/logging\.py|web_log\.py")),
    ("request-id uuid4", re.compile(r"^uuid4 ")),
    ("prometheus_client", re.compile(r"prometheus_client")),
    ("sha256 (Digester.update)", re.compile(r"Digester\.update")),
    ("file syscalls (_fsops)", re.compile(r"_fsops\.py")),
    ("executor hops", re.compile(r"concurrent/futures|wrap_future|_chain_future|threading\.py")),
    ("other cargohold code", re.compile(r"cargohold/")),
    ("aiohttp", re.compile(r"aiohttp/")),
    ("event loop, C level (uvloop)", re.compile(r"^Runner\.run ")),
)


def _category(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in _CATEGORIES:
            if pattern.search(frame):
                return name
    return "other"


def summarize(collapsed: str, top: int = 30) -> str:
    """Self and inclusive sample shares per function from py-spy's raw (collapsed) output.

    Frames are merged across line numbers (``name (file)``); py-spy's per-process root frame
    is dropped, so 100 % is every sample of every thread that was not idle.
    """
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    by_category: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_LINE.sub(")", f) for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        by_category[_category(frames)] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "no samples\n"
    lines = [f"{total} samples (all threads, idle excluded)", "", "share  category"]
    lines += [f"{100 * n / total:5.0f}  {c}" for c, n in by_category.most_common()]
    lines += ["", "self %  function"]
    lines += [f"{100 * n / total:6.1f}  {f}" for f, n in own.most_common(top)]
    lines += ["", "incl %  function"]
    lines += [f"{100 * n / total:6.1f}  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("workload", choices=sorted(BY_NAME))
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--mode", choices=["pinned", "unpinned"], default="pinned")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if shutil.which("py-spy") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
    ensure_commands(["wrk", "ab", "docker-registry", "taskset"])
    workload = BY_NAME[args.workload]
    settings = FULL.with_overrides(small_duration=args.duration, runs=1)
    args.out.mkdir(parents=True, exist_ok=True)
    raw = args.out / f"{workload.name}.collapsed"
    with tempfile.TemporaryDirectory(prefix="cargohold-profile-") as tmp:
        workdir = Path(tmp)
        seeded = seed_root(workdir / "root", settings)
        registry = start_registry(
            "cargohold", workdir / "root", workdir / "srv", settings, args.mode
        )
        try:
            target = Target("cargohold", registry, workdir / "root", seeded)
            bench = Bench(settings, args.mode, workdir)
            command = ["py-spy", "record", "--nonblocking", "--subprocesses", "--format", "raw"]
            command += ["--rate", str(args.rate), "-o", str(raw), "-p", str(registry.pid)]
            spy = subprocess.Popen(
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            time.sleep(1.0)  # let py-spy attach before the load starts
            deadline, runs = time.monotonic() + args.duration, 0
            while runs == 0 or time.monotonic() < deadline:
                sample = workload.run(bench, target, runs)
                runs += 1
                print(f"run {runs}: {sample.value:,.2f} {workload.unit}", flush=True)
            spy.send_signal(signal.SIGINT)
            _, err = spy.communicate(timeout=60)
            if not raw.exists():
                raise SystemExit(f"py-spy wrote nothing: {err.decode(errors='replace')[-1500:]}")
        finally:
            registry.stop()
    summary = args.out / f"{workload.name}.txt"
    summary.write_text(
        f"cargohold under {workload.name} ({args.mode}, {runs} runs; source tree sha256 "
        f"{tree_digest(REPO_ROOT / 'src' / 'cargohold')[:12]})\n\n" + summarize(raw.read_text())
    )
    print(summary.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
