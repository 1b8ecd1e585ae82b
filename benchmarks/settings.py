"""The knobs of one benchmark run: sizes, durations and repetitions, full or ``--quick``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
MiB: Final = 1024 * 1024
GiB: Final = 1024 * MiB

#: The two servers, in the order they take turns within a round (A B A B ...).
SERVERS: Final = ("cargohold", "distribution")
#: ``pinned``: server on core 0, load generator on core 1 (``taskset``); ``unpinned``: no affinity.
MODES: Final = ("pinned", "unpinned")


@dataclass(frozen=True)
class Settings:
    """Everything that scales a run; :data:`FULL` and :data:`QUICK` are the two presets."""

    runs: int = 3
    blob_size: int = 1 * GiB
    range_size: int = 64 * MiB
    #: Range requests per timed run, so a run lasts long enough to time.
    range_repeats: int = 8
    chunk_size: int = 16 * MiB
    memory_blob_size: int = 4 * GiB
    small_duration: float = 10.0
    #: Unmeasured load before each small-request run, so both servers are timed warm (caches
    #: filled; cargohold trusts a cached listing 2 s after its directory last changed).
    small_warmup: float = 3.0
    small_concurrency: int = 64
    repositories: int = 10_000
    tags: int = 1_000
    catalog_page: int = 100
    skopeo_layers: int = 8
    skopeo_layer_size: int = 16 * MiB
    sha256_bytes: int = 2 * GiB
    #: Blob descriptor cache of both servers: "inmemory", "redis" or "" (none).
    cache: str = "inmemory"
    #: With ``cache="redis"``: the address of the redis-server the harness started.
    redis_addr: str | None = None
    #: ``http.workers`` for cargohold when its config accepts the key; None keeps its default.
    cargohold_workers: int | None = None
    #: ``storage.filesystem.directwrites`` for cargohold; None keeps its default (off).
    cargohold_directwrites: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


FULL: Final = Settings()

QUICK: Final = Settings(
    runs=1,
    blob_size=16 * MiB,
    range_size=4 * MiB,
    range_repeats=2,
    chunk_size=4 * MiB,
    memory_blob_size=32 * MiB,
    small_duration=1.0,
    small_warmup=0.0,
    small_concurrency=8,
    repositories=150,
    tags=20,
    catalog_page=100,
    skopeo_layers=2,
    skopeo_layer_size=256 * 1024,
    sha256_bytes=64 * MiB,
)
