"""Space reserved ahead of writes: allocated without changing the size, and given back."""

from __future__ import annotations

import os
from pathlib import Path

from cargohold.storage.driver._reserve import release_unused, reserve


def test_a_reservation_allocates_blocks_past_the_end_and_release_frees_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        os.write(fd, b"x" * 5000)
        took = reserve(fd, 5000, 8 << 20)
        st = os.fstat(fd)
        assert st.st_size == 5000  # the offset of an upload is still its size
        # A filesystem without fallocate (the hint did not take) allocates nothing ahead.
        assert (st.st_blocks * 512 >= 8 << 20) is took
        release_unused(fd)
        st = os.fstat(fd)
        assert st.st_size == 5000
        assert st.st_blocks * 512 < 1 << 20
    finally:
        os.close(fd)
    assert path.read_bytes() == b"x" * 5000


def test_nothing_to_reserve_and_a_bad_descriptor_are_not_errors() -> None:
    assert reserve(-1, 0, 0) is False
    assert reserve(-1, 0, 4096) is False  # the hint fails quietly
    release_unused(-1)  # a failure only leaves space allocated: no exception
