"""Install the load tools a run needs when they are missing: Debian packages and pip packages."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from typing import Final

#: Command -> Debian package providing it.
DEBIAN: Final = {
    "wrk": "wrk",
    "ab": "apache2-utils",
    "nginx": "nginx-light",
    "skopeo": "skopeo",
    "docker-registry": "docker-registry",
    "taskset": "util-linux",
}
#: Importable module -> pip requirement.
PIP: Final = {"matplotlib": "matplotlib"}


def _sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo"]


def ensure_commands(commands: Iterable[str]) -> None:
    """apt-get install the Debian packages of any ``commands`` not on PATH."""
    missing = sorted({DEBIAN[c] for c in commands if shutil.which(c) is None})
    if not missing:
        return
    print(f"installing Debian packages: {' '.join(missing)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*_sudo(), "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*_sudo(), "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    still = [c for c in commands if shutil.which(c) is None]
    if still:
        raise SystemExit(f"still missing after apt-get install: {still}")


def ensure_modules(modules: Iterable[str]) -> None:
    """pip install the requirements of any ``modules`` that cannot be imported."""
    missing = sorted({PIP[m] for m in modules if importlib.util.find_spec(m) is None})
    if missing:
        print(f"installing Python packages: {' '.join(missing)}", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *missing],
            check=True,
        )
