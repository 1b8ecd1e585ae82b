"""Medians, ratios and fractions of ceilings, written as JSON, a Markdown table and PNG plots."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.context import Sample
from benchmarks.settings import SERVERS
from benchmarks.workloads import Workload

NAMES = {"cargohold": "cargohold", "distribution": "Distribution"}


@dataclass
class WorkloadResult:
    """All samples of one workload in one mode, by server, plus an error if it could not finish."""

    workload: Workload
    mode: str
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {k: [] for k in SERVERS})
    error: str | None = None
    #: Ceilings sampled in this workload's own rotation; they override the mode-wide medians.
    ceiling_samples: dict[str, list[float]] = field(default_factory=dict)

    def median(self, kind: str) -> float | None:
        values = [s.value for s in self.samples[kind]]
        return statistics.median(values) if values else None

    def ratio(self) -> float | None:
        """cargohold / Distribution of the medians."""
        ours, theirs = self.median("cargohold"), self.median("distribution")
        if ours is None or not theirs:
            return None
        return ours / theirs

    def advantage(self) -> float | None:
        """The ratio oriented so that above 1 means cargohold is better."""
        ratio = self.ratio()
        if ratio is None or ratio == 0:
            return None
        return ratio if self.workload.higher_is_better else 1 / ratio

    def to_json(self, ceilings: Mapping[str, float]) -> dict[str, Any]:
        servers: dict[str, Any] = {}
        for kind in SERVERS:
            samples = self.samples[kind]
            keys = sorted({k for s in samples for k in s.extra})
            servers[kind] = {
                "median": self.median(kind),
                "runs": [s.value for s in samples],
                "non2xx": sum(s.non2xx for s in samples),
                "errors": sum(s.errors for s in samples),
                "extra": {
                    k: statistics.median(s.extra[k] for s in samples if k in s.extra) for k in keys
                },
            }
        fractions: dict[str, dict[str, float | None]] = {}
        for name in self.workload.ceilings:
            own = self.ceiling_samples.get(name)
            ceiling = statistics.median(own) if own else ceilings.get(name)
            fractions[name] = {
                kind: (m / ceiling if ceiling and (m := self.median(kind)) is not None else None)
                for kind in SERVERS
            }
        advantage = self.advantage()
        target = self.workload.target
        return {
            "workload": self.workload.name,
            "title": self.workload.title,
            "mode": self.mode,
            "unit": self.workload.unit,
            "higher_is_better": self.workload.higher_is_better,
            "servers": servers,
            "ratio": self.ratio(),
            "advantage": advantage,
            "target": target,
            "meets_target": None if target is None or advantage is None else advantage >= target,
            "fraction_of_ceiling": fractions,
            "ceiling_runs": self.ceiling_samples,
            "error": self.error,
        }


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


def _digits(unit: str) -> int:
    return 2 if unit == "s" else 0


def markdown(doc: Mapping[str, Any]) -> str:
    """The results document as Markdown: machine, ceilings, then one table per mode."""
    machine = doc["machine"]
    out = [
        "# cargohold vs CNCF Distribution",
        "",
        f"Run {doc['started']} ({doc['wall_seconds']:.0f} s); {machine['cpu_model']}, "
        f"{machine['nproc']} CPUs, {machine['memory_gib']:.0f} GiB; "
        f"{doc['settings']['runs']} interleaved runs per server, medians. "
        "Ratio = cargohold / Distribution; for s and MiB lower is better.",
        "",
        "## Ceilings",
        "",
        "| ceiling | " + " | ".join(doc["modes"]) + " |",
        "|---|" + "---:|" * len(doc["modes"]),
    ]
    names = sorted({n for m in doc["modes"] for n in doc["ceilings"].get(m, {})})
    for name in names:
        cells = [_num(doc["ceilings"].get(m, {}).get(name, {}).get("median")) for m in doc["modes"]]
        out.append(f"| {name} ({doc['ceiling_units'].get(name, '')}) | " + " | ".join(cells) + " |")
    for mode in doc["modes"]:
        out += [
            "",
            f"## {mode}",
            "",
            "| workload | unit | cargohold | Distribution | ratio | target | "
            "% of ceiling (c / D) | non-2xx (c / D) | p50 ms (c / D) | p99 ms (c / D) |",
            "|---|---|---:|---:|---:|---:|---|---|---|---|",
        ]
        for result in doc["results"]:
            if result["mode"] != mode:
                continue
            c, d = result["servers"]["cargohold"], result["servers"]["distribution"]
            digits = _digits(result["unit"])
            if result["error"]:
                out.append(f"| {result['title']} | error: {result['error'][:120]} |||||||||")
                continue
            ceiling = "; ".join(
                f"{_pct(frac['cargohold'])} / {_pct(frac['distribution'])} of {name}"
                for name, frac in result["fraction_of_ceiling"].items()
            )
            target = result["target"]
            target_cell = (
                "" if target is None else f"≥ {target:g}x {'✓' if result['meets_target'] else '✗'}"
            )
            latency = ["", ""]
            if "p50_ms" in c["extra"]:
                latency = [
                    f"{c['extra'][k]:.2f} / {d['extra'].get(k, float('nan')):.2f}"
                    for k in ("p50_ms", "p99_ms")
                ]
            out.append(
                f"| {result['title']} | {result['unit']} | {_num(c['median'], digits)} | "
                f"{_num(d['median'], digits)} | {_num(result['ratio'], 2)} | {target_cell} | "
                f"{ceiling} | {c['non2xx'] + c['errors']} / {d['non2xx'] + d['errors']} | "
                + " | ".join(latency)
                + " |"
            )
        out += _cpu_table(doc, mode)
    return "\n".join(out) + "\n"


def _cpu_table(doc: Mapping[str, Any], mode: str) -> list[str]:
    """Server CPU seconds per GiB of the workloads that record it (pushes): cost, not speed."""
    rows = []
    for result in doc["results"]:
        c, d = result["servers"]["cargohold"], result["servers"]["distribution"]
        ours, theirs = (s["extra"].get("server_cpu_s_per_gib") for s in (c, d))
        if result["mode"] != mode or ours is None or theirs is None:
            continue
        ours_sys, theirs_sys = (s["extra"].get("server_sys_s_per_gib") for s in (c, d))
        rows.append(
            f"| {result['title']} | {ours:.2f} | {_num(ours_sys, 2)} | {theirs:.2f} | "
            f"{_num(theirs_sys, 2)} | {theirs / ours if ours else float('nan'):.2f}x |"
        )
    if not rows:
        return []
    return [
        "",
        "| server CPU per GiB pushed | cargohold (s) | of which system | Distribution (s) "
        "| of which system | Distribution / cargohold |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
    ]


def plot(doc: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """PNG bar charts: cargohold's advantage per workload, and each server's fraction of ceiling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = [r for r in doc["results"] if r["advantage"] is not None]
    titles = list(dict.fromkeys(r["title"] for r in results))
    if not titles:
        return []
    written: list[Path] = []
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(titles) + 1.5))
    height = 0.8 / max(len(doc["modes"]), 1)
    for i, mode in enumerate(doc["modes"]):
        values = _by_title(results, mode, titles, lambda r: r["advantage"])
        ax.barh([y + i * height for y in range(len(titles))], values, height, label=mode)
    for y, title in enumerate(titles):
        target = next((r["target"] for r in results if r["title"] == title), None)
        if target:
            ax.plot([target], [y + height / 2], "k|", markersize=14)
    ax.axvline(1.0, color="grey", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks([y + height / 2 for y in range(len(titles))], titles)
    ax.invert_yaxis()
    ax.set_xlabel("cargohold advantage over Distribution (>1: cargohold better; | = target)")
    ax.legend()
    fig.tight_layout()
    written.append(out_dir / "ratios.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    with_ceiling = [r for r in results if r["fraction_of_ceiling"]]
    ceiling_titles = list(dict.fromkeys(r["title"] for r in with_ceiling))
    if ceiling_titles:
        fig, axes = plt.subplots(
            1, len(doc["modes"]), figsize=(12, 0.45 * len(ceiling_titles) + 1.5), squeeze=False
        )
        for ax, mode in zip(axes[0], doc["modes"], strict=True):
            for i, kind in enumerate(SERVERS):
                values = _by_title(
                    with_ceiling,
                    mode,
                    ceiling_titles,
                    lambda r, k=kind: next(iter(r["fraction_of_ceiling"].values()))[k],
                )
                ax.barh(
                    [y + i * 0.4 for y in range(len(ceiling_titles))],
                    [100 * v for v in values],
                    0.4,
                    label=NAMES[kind],
                )
            ax.set_yticks(
                [y + 0.2 for y in range(len(ceiling_titles))],
                ceiling_titles if mode == doc["modes"][0] else [""] * len(ceiling_titles),
            )
            ax.invert_yaxis()
            ax.set_title(mode)
            ax.set_xlabel("% of the machine's ceiling")
            ax.legend()
        fig.tight_layout()
        written.append(out_dir / "ceiling-fractions.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written


def _by_title(
    results: Sequence[Mapping[str, Any]], mode: str, titles: Sequence[str], value: Any
) -> list[float]:
    found = {r["title"]: value(r) for r in results if r["mode"] == mode}
    return [found.get(t) or 0.0 for t in titles]


def write(doc: Mapping[str, Any], out_dir: Path, *, plots: bool = True) -> list[Path]:
    """Write results.json, results.md and (with ``plots``) the PNGs into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    md_path = out_dir / "results.md"
    md_path.write_text(markdown(doc))
    return [json_path, md_path, *(plot(doc, out_dir) if plots else [])]
