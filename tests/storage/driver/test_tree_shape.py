"""Drivers with a real directory tree refuse writes that would mix a file and a directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cargohold.errors import InvalidPath
from cargohold.storage.driver.base import StorageDriver
from cargohold.storage.driver.filesystem import FilesystemDriver
from cargohold.storage.driver.inmemory import InMemoryDriver


@pytest.fixture(params=["filesystem", "inmemory"])
async def driver(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StorageDriver]:
    d: StorageDriver = (
        FilesystemDriver(str(tmp_path)) if request.param == "filesystem" else InMemoryDriver()
    )
    await d.put_content("/dir/file", b"x")
    yield d
    await d.aclose()


async def test_put_over_directory(driver: StorageDriver) -> None:
    with pytest.raises(InvalidPath):
        await driver.put_content("/dir", b"y")
    with pytest.raises(InvalidPath):
        await driver.writer("/dir")
    assert await driver.get_content("/dir/file") == b"x"


async def test_put_below_a_file(driver: StorageDriver) -> None:
    with pytest.raises(InvalidPath):
        await driver.put_content("/dir/file/child", b"y")
    with pytest.raises(InvalidPath):
        await driver.writer("/dir/file/child/deeper")
    assert await driver.get_content("/dir/file") == b"x"


async def test_move_conflicts(driver: StorageDriver) -> None:
    await driver.put_content("/other", b"o")
    with pytest.raises(InvalidPath):
        await driver.move("/other", "/dir")  # a file over a non-empty directory
    with pytest.raises(InvalidPath):
        await driver.move("/other", "/dir/file/child")  # below a file
    with pytest.raises(InvalidPath):
        await driver.move("/dir", "/dir/sub")  # a directory into itself
    assert await driver.get_content("/other") == b"o"
    assert await driver.get_content("/dir/file") == b"x"


async def test_move_directory(driver: StorageDriver) -> None:
    await driver.move("/dir", "/moved/dir")
    assert await driver.get_content("/moved/dir/file") == b"x"
    assert await driver.list("/moved") == ["/moved/dir"]
