"""The malloc thresholds: body-sized allocations stop faulting in fresh pages once tuned."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cargohold.cli.malloc import tune_malloc

# Receive bursts of 256 KiB pieces (what a socket read hands over), then free them, as a body
# streamed through a 4 MiB window does; report the minor page faults that took.
_PROGRAM = """
import resource, sys
from cargohold.cli.malloc import tune_malloc
if sys.argv[1] == "tuned":
    assert tune_malloc()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for burst in range(300):
    pieces = [bytes(256 * 1024 + i) for i in range(16)]
    del pieces
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_tuned_heap_keeps_its_pages_for_the_next_piece() -> None:
    untuned, tuned = _faults("default"), _faults("tuned")
    # Untuned, glibc trims the freed window and faults it back in: 1,024 pages a burst.
    assert untuned > 100_000
    assert tuned < untuned / 10


def test_tuning_reports_whether_it_applied() -> None:
    assert tune_malloc() is sys.platform.startswith("linux")
