"""Freeze the cargohold source a run measures, so edits made to the tree meanwhile do not leak in.

The package directory is copied into the run's work directory and put first on ``PYTHONPATH``,
which every server the harness starts inherits. The copy's content hash, the git commit and the
files that differ from it are recorded with the results.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.settings import REPO_ROOT


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else "unavailable"


def tree_digest(root: Path) -> str:
    """SHA-256 over the relative paths and contents of every ``.py`` file under ``root``."""
    hasher = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        hasher.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return hasher.hexdigest()


def snapshot_cargohold(workdir: Path) -> dict[str, Any]:
    """Copy the importable ``cargohold`` package under ``workdir`` and point PYTHONPATH at it."""
    spec = importlib.util.find_spec("cargohold")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("cargohold is not importable: pip install -e . first")
    source = Path(next(iter(spec.submodule_search_locations)))
    target = workdir / "cargohold-src"
    shutil.copytree(source, target / "cargohold", ignore=shutil.ignore_patterns("__pycache__"))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(target), os.environ.get("PYTHONPATH")])
    )
    return {
        "source": str(source),
        "tree_sha256": tree_digest(target / "cargohold"),
        "git_head": _git("rev-parse", "HEAD"),
        "uncommitted": _git("status", "--porcelain", "--", str(source)).splitlines(),
    }
