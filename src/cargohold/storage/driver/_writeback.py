"""Start the writeback of freshly written file ranges early, so a final fsync waits for little.

Blob data is fsynced before it is published (``_fsops.move``); without a hint the kernel holds a
1 GiB upload in dirty pages and that fsync then waits for all of it. ``sync_file_range`` with
``SYNC_FILE_RANGE_WRITE`` queues each batch for writing as it lands, overlapping the disk with the
network. It is a hint only: durability still comes from the fsync. Python's ``os`` lacks it, so
it is called through libc where it exists (Linux).
"""

from __future__ import annotations

import ctypes

from cargohold.storage.driver._libc import linux_call

_SYNC_FILE_RANGE_WRITE = 2
_sync_file_range = linux_call(
    "sync_file_range", ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint
)


def start_writeback(fd: int, offset: int, length: int) -> bool:
    """Queue the ``length`` bytes written at ``offset`` of ``fd`` for writing to disk.

    Returns whether the hint was given; failures are ignored, since the fsync decides.
    """
    if _sync_file_range is None or length <= 0:
        return False
    return _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE) == 0
