"""The writeback hint: given for what was just written, never changing what a file holds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cargohold.storage.driver._writeback import start_writeback


def test_the_hint_covers_the_bytes_just_written_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "data"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, b"a" * 4096)
        os.write(fd, b"b" * 8192)
        assert start_writeback(fd, 4096, 8192) is sys.platform.startswith("linux")
        assert start_writeback(fd, 4096, 0) is False
    finally:
        os.close(fd)
    assert path.read_bytes() == b"a" * 4096 + b"b" * 8192
