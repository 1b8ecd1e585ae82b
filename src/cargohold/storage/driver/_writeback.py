"""Start the writeback of freshly written file ranges early, so a final fsync waits for little.

Blob data is fsynced before it is published (``_fsops.move``); without a hint the kernel holds a
1 GiB upload in dirty pages and that fsync then waits for all of it. ``sync_file_range`` with
``SYNC_FILE_RANGE_WRITE`` queues each batch for writing as it lands, overlapping the disk with the
network. It is a hint only: durability still comes from the fsync. Python's ``os`` lacks it, so
it is called through libc where it exists (Linux).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

_SYNC_FILE_RANGE_WRITE = 2


def _load() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_sync_file_range = _load()


def start_writeback(fd: int, offset: int, length: int) -> bool:
    """Queue the ``length`` bytes written at ``offset`` of ``fd`` for writing to disk.

    Returns whether the hint was given; failures are ignored, since the fsync decides.
    """
    if _sync_file_range is None or length <= 0:
        return False
    return _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE) == 0
