"""Page-aligned staging buffers for the filesystem writer, reused from one upload to the next.

``O_DIRECT`` needs memory aligned to the device's logical block; anonymous mmaps are page
aligned. Buffers are kept for reuse because touching fresh pages is what costs: a page fault per
4 KiB, and under a hypervisor that backs guest memory lazily, often a host fault too.
"""

from __future__ import annotations

import contextlib
import mmap
import threading

#: Alignment of O_DIRECT offsets, lengths and addresses: a 4 KiB page covers 512-byte and
#: 4 KiB logical blocks alike.
ALIGN = 4096


class BufferPool:
    """Hands out ``size``-byte page-aligned buffers and keeps up to ``keep`` returned ones."""

    def __init__(self, size: int, keep: int) -> None:
        if size <= 0 or size % ALIGN:
            raise ValueError(f"buffer size must be a positive multiple of {ALIGN}, got {size}")
        self.size = size
        self._keep = keep
        self._free: list[mmap.mmap] = []
        # Writers of several event loops (threads) may share one driver.
        self._lock = threading.Lock()

    def take(self) -> mmap.mmap:
        """A buffer of :attr:`size` bytes, recycled when one is free."""
        with self._lock:
            if self._free:
                return self._free.pop()
        return mmap.mmap(-1, self.size)

    def give(self, buffer: mmap.mmap) -> None:
        """Return ``buffer`` for reuse; beyond ``keep`` free buffers it is unmapped."""
        with self._lock:
            if len(self._free) < self._keep:
                self._free.append(buffer)
                return
        _unmap(buffer)

    def clear(self) -> None:
        """Unmap every free buffer."""
        with self._lock:
            free, self._free = self._free, []
        for buffer in free:
            _unmap(buffer)


def _unmap(buffer: mmap.mmap) -> None:
    # A memoryview of it may still be alive somewhere; then the GC unmaps it with the view.
    with contextlib.suppress(BufferError):
        buffer.close()
