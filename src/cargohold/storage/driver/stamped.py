"""Values derived from directories, reused while the directories' change stamps stay the same.

A stamp (a directory's mtime) changes whenever an entry is added or removed, but only to the
resolution of the filesystem's clock: two changes in one tick leave the same stamp. So a value is
trusted only if it was computed from a reading that began ``settle`` seconds after its stamp was
first seen: any change sharing that stamp happened within a tick of the change that set it, before
the reading. Only the local monotonic clock is compared, never file times against it, so a
storage server with a skewed clock (NFS) cannot make a stale value look fresh.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: Longer than any filesystem's timestamp resolution (FAT's 2 s is the coarsest in use).
DEFAULT_SETTLE = 2.0


@dataclass(slots=True)
class _Record(Generic[V]):
    stamp: Hashable
    first_seen: float
    value: V | None = None
    has_value: bool = False


class StampedCache(Generic[K, V]):
    """A bounded LRU of values per key, each valid for exactly one stamp of its key."""

    def __init__(self, capacity: int = 1024, settle: float = DEFAULT_SETTLE) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self.settle = settle
        self._records: OrderedDict[K, _Record[V]] = OrderedDict()

    def lookup(self, key: K, stamp: Hashable) -> tuple[bool, V | None]:
        """``(True, value)`` if a trusted value exists for ``stamp``; else ``(False, None)``."""
        record = self._records.get(key)
        if record is None or record.stamp != stamp or not record.has_value:
            return False, None
        self._records.move_to_end(key)
        return True, record.value

    def started(self) -> float:
        """The time a reading begins: take it after reading the stamp, before reading the data."""
        return time.monotonic()

    def store(self, key: K, stamp: Hashable, value: V, started: float) -> None:
        """Keep ``value`` if it was read ``settle`` seconds after ``stamp`` was first stored.

        The first store of a stamp only remembers when it was seen; a later reading of the same
        stamp is the one that is kept.
        """
        record = self._records.get(key)
        if record is None or record.stamp != stamp:
            self._records[key] = _Record(stamp, started)
            self._records.move_to_end(key)
            while len(self._records) > self.capacity:
                self._records.popitem(last=False)
        elif started - record.first_seen >= self.settle:
            record.value, record.has_value = value, True

    def invalidate(self, key: K) -> None:
        """Forget ``key``: this process changed what its value derives from."""
        self._records.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __len__(self) -> int:
        return len(self._records)
