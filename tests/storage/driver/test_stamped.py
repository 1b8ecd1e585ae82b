"""The stamped cache: a value is reused only for its stamp, and only once the stamp has settled."""

from __future__ import annotations

import pytest

from cargohold.storage.driver.stamped import StampedCache


def test_a_first_reading_only_records_when_its_stamp_was_seen() -> None:
    cache: StampedCache[str, str] = StampedCache(settle=2.0)
    cache.store("k", "s1", "v1", started=100.0)
    assert cache.lookup("k", "s1") == (False, None)
    # A second reading too soon after the stamp appeared may have missed a same-tick change.
    cache.store("k", "s1", "v1", started=101.9)
    assert cache.lookup("k", "s1") == (False, None)
    cache.store("k", "s1", "v2", started=102.0)
    assert cache.lookup("k", "s1") == (True, "v2")


def test_a_value_serves_only_its_own_stamp() -> None:
    cache: StampedCache[str, str] = StampedCache(settle=0.0)
    cache.store("k", "s1", "v1", started=1.0)
    cache.store("k", "s1", "v1", started=1.0)
    assert cache.lookup("k", "s1") == (True, "v1")
    assert cache.lookup("k", "s2") == (False, None)
    # A new stamp starts over: its first reading is not trusted yet.
    cache.store("k", "s2", "v2", started=2.0)
    assert cache.lookup("k", "s2") == (False, None)
    assert cache.lookup("k", "s1") == (False, None)


def test_invalidate_and_capacity() -> None:
    cache: StampedCache[str, int] = StampedCache(capacity=2, settle=0.0)
    for key in ("a", "b"):
        cache.store(key, 0, 1, started=0.0)
        cache.store(key, 0, 1, started=0.0)
    assert cache.lookup("a", 0) == (True, 1)  # "a" is now the most recently used
    cache.store("c", 0, 1, started=0.0)
    assert len(cache) == 2
    assert cache.lookup("b", 0) == (False, None)
    assert cache.lookup("a", 0) == (True, 1)
    cache.invalidate("a")
    assert cache.lookup("a", 0) == (False, None)
    with pytest.raises(ValueError, match="capacity"):
        StampedCache(capacity=0)
