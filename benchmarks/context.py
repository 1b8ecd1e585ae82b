"""What a workload runs against: the mode, the server under test, and where a sample goes."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.registries import CLIENT_CORE, BenchRegistry, start_registry
from benchmarks.seed import Seeded
from benchmarks.settings import Settings


@dataclass
class Sample:
    """One run's figure, its error counts and any secondary figures (latency percentiles...)."""

    value: float
    non2xx: int = 0
    errors: int = 0
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Target:
    """One registry under test: its process, its storage root and what was seeded there."""

    kind: str
    registry: BenchRegistry
    root: Path
    seeded: Seeded

    @property
    def port(self) -> int:
        return self.registry.port

    @property
    def url(self) -> str:
        return self.registry.url


@dataclass
class Bench:
    """One mode of one harness run; workloads read settings and pin themselves through it."""

    settings: Settings
    mode: str
    workdir: Path
    counter: int = 0

    @property
    def pinned(self) -> bool:
        return self.mode == "pinned"

    @property
    def client_prefix(self) -> tuple[str, ...]:
        """Prefix for load-generator commands: ``taskset -c 1`` when pinned."""
        return ("taskset", "-c", str(CLIENT_CORE)) if self.pinned else ()

    def unique(self, stem: str) -> str:
        """A name not used before in this harness run (repositories, directories)."""
        self.counter += 1
        return f"{stem}{self.counter:04d}"

    @contextlib.contextmanager
    def client_side(self) -> Iterator[None]:
        """Run the block's in-process client on core 1 when pinned (the server has core 0)."""
        if not self.pinned:
            yield
            return
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {CLIENT_CORE})
        try:
            yield
        finally:
            os.sched_setaffinity(0, before)

    @contextlib.contextmanager
    def fresh_registry(self, kind: str) -> Iterator[BenchRegistry]:
        """A newly started ``kind`` on an empty root, for figures a long-lived process would skew."""
        name = self.unique(f"fresh-{kind}-")
        registry = start_registry(
            kind, self.workdir / name / "root", self.workdir / name, self.settings, self.mode
        )
        try:
            yield registry
        finally:
            registry.stop()
            shutil.rmtree(self.workdir / name / "root", ignore_errors=True)


RunFn = Callable[[Bench, Target, int], Sample]
