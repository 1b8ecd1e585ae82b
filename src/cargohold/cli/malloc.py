"""glibc malloc tuned for a server that streams blobs in pieces of a few hundred KiB.

By default glibc serves an allocation of 128 KiB or more with its own ``mmap`` and hands the
heap's free top back to the kernel once it exceeds 128 KiB; its dynamic thresholds then creep
up but still trim and re-map as piece sizes vary. Every received body piece therefore lands on
fresh pages, a page fault per 4 KiB: measured at 0.3-0.5 s of system CPU per GiB pushed, more
than the rest of the receive path. With fixed thresholds the heap keeps its pages.
"""

from __future__ import annotations

import ctypes
import sys

# mallopt parameters, from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: Allocations below this come from the heap: above the 1-2 MiB pieces an upload handles.
MMAP_THRESHOLD = 4 << 20
#: Free memory at the heap's top kept for reuse rather than returned to the kernel.
TRIM_THRESHOLD = 16 << 20


def tune_malloc() -> bool:
    """Apply the thresholds to this process (and the workers it forks); False where the C
    library is not glibc or refuses."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
