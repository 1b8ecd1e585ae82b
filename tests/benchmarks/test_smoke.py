"""The benchmark harness end to end in ``--quick`` mode: both servers measured, nothing failed.

No timing is asserted: the figures of a one-second run on a shared machine mean nothing; what
must hold is that every workload produced a figure for both servers without a single non-2xx.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from benchmarks.blobs import BlobContent
from benchmarks.run import run_order
from benchmarks.settings import REPO_ROOT

pytestmark = pytest.mark.integration

WORKLOADS = ("blob-pull", "blob-push-chunked", "head-blob")


@pytest.fixture(scope="module")
def quick_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("bench-results")
    command = [sys.executable, "-m", "benchmarks.run", "--quick", "--no-plots", "--out", str(out)]
    for name in WORKLOADS:
        command += ["--workload", name]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=110, check=False
    )
    return done, out


def _doc(quick_run: tuple[subprocess.CompletedProcess[str], Path]) -> Any:
    done, out = quick_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((out / "results.json").read_text())


def test_every_workload_has_both_servers_in_both_modes(
    quick_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    doc = _doc(quick_run)
    seen = {(r["workload"], r["mode"]) for r in doc["results"]}
    assert seen == {(w, m) for w in WORKLOADS for m in ("pinned", "unpinned")}
    for result in doc["results"]:
        assert result["error"] is None
        for kind in ("cargohold", "distribution"):
            server = result["servers"][kind]
            assert len(server["runs"]) == 1
            assert server["median"] > 0
        assert result["ratio"] > 0


def test_no_request_failed(quick_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    doc = _doc(quick_run)
    for result in doc["results"]:
        for kind in ("cargohold", "distribution"):
            assert result["servers"][kind]["non2xx"] == 0, result
            assert result["servers"][kind]["errors"] == 0, result


def test_ceilings_and_fractions_are_reported(
    quick_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    doc = _doc(quick_run)
    for mode in ("pinned", "unpinned"):
        assert {"sendfile", "static-nginx-HEAD", "static-aiohttp-HEAD"} <= set(
            doc["ceilings"][mode]
        )
    head = next(r for r in doc["results"] if r["workload"] == "head-blob")
    assert set(head["fraction_of_ceiling"]) == {"static-nginx-HEAD", "static-aiohttp-HEAD"}
    markdown = (quick_run[1] / "results.md").read_text()
    assert "| HEAD blob | req/s |" in markdown


def test_push_reports_its_bounds_and_the_servers_cpu(
    quick_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    doc = _doc(quick_run)
    for push in (r for r in doc["results"] if r["workload"] == "blob-push-chunked"):
        assert set(push["ceiling_runs"]) == {"durable-write", "sha256", "page-cache-write"}
        assert all(v > 0 for runs in push["ceiling_runs"].values() for v in runs)
        for kind in ("cargohold", "distribution"):
            assert push["fraction_of_ceiling"]["durable-write"][kind] > 0
            assert push["fraction_of_ceiling"]["page-cache-write"][kind] > 0
            # Receiving and hashing 16 MiB costs CPU; zero would mean the wrong process was read.
            extra = push["servers"][kind]["extra"]
            assert extra["server_cpu_s_per_gib"] > 0
            assert 0 <= extra["server_sys_s_per_gib"] <= extra["server_cpu_s_per_gib"]
    markdown = (quick_run[1] / "results.md").read_text()
    assert "of durable-write; " in markdown
    assert "of page-cache-write" in markdown
    assert "| server CPU per GiB pushed | cargohold (s) | of which system |" in markdown


def test_a_push_workload_warms_both_servers_up_untimed_first(
    quick_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, _ = quick_run
    doc = _doc(quick_run)
    for mode in ("pinned", "unpinned"):
        assert f"[{mode}] blob-push-chunked: one untimed warm-up run per server done" in done.stdout
        assert f"[{mode}] blob-pull: one untimed" not in done.stdout  # already warm from seeding
    # The warm-up's sample is discarded, not counted as a run.
    push = next(r for r in doc["results"] if r["workload"] == "blob-push-chunked")
    assert len(push["servers"]["cargohold"]["runs"]) == 1


def test_the_servers_take_turns_first() -> None:
    assert [run_order(n) for n in range(4)] == [
        ("cargohold", "distribution"),
        ("distribution", "cargohold"),
        ("cargohold", "distribution"),
        ("distribution", "cargohold"),
    ]


def test_push_content_is_fresh_and_its_parts_hash_to_its_digest() -> None:
    # Larger than the repeated 64 MiB block, so the views wrap around it.
    size = 67 * 1024 * 1024 + 7
    one, two = BlobContent(size), BlobContent(size)
    assert one.digest != two.digest
    whole = b"".join(bytes(p) for p in one.parts(0, one.size))
    assert len(whole) == one.size
    assert "sha256:" + hashlib.sha256(whole).hexdigest() == one.digest
    split = b"".join(
        bytes(p)
        for start in range(0, one.size, 5 << 20)
        for p in one.parts(start, min(start + (5 << 20), one.size))
    )
    assert split == whole
