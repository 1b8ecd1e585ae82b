"""The instrumented wrapper passes the shared driver suite and times each call under its action."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cargohold.errors import PathNotFound
from cargohold.metrics import Metrics
from cargohold.storage.driver.base import StorageDriver
from cargohold.storage.driver.filesystem import FilesystemDriver
from cargohold.storage.driver.inmemory import InMemoryDriver
from cargohold.storage.driver.instrumented import InstrumentedDriver
from cargohold.testing.driver_suite import DriverSuite

ACTION = "registry_storage_action_seconds_count"


class TestInstrumentedDriver(DriverSuite):
    @pytest.fixture
    async def driver(self) -> AsyncIterator[StorageDriver]:
        d = InstrumentedDriver(InMemoryDriver(), Metrics().storage)
        yield d
        await d.aclose()


def count(metrics: Metrics, action: str, driver: str = "inmemory") -> float:
    return metrics.total(ACTION, driver=driver, action=action)


async def test_each_call_is_counted_under_distributions_action_name() -> None:
    metrics = Metrics()
    driver = InstrumentedDriver(InMemoryDriver(), metrics.storage)
    assert driver.name == "inmemory"
    await driver.put_content("/a/b", b"data")
    assert await driver.get_content("/a/b") == b"data"
    assert (await driver.stat("/a/b")).size == 4
    assert await driver.list("/a") == ["/a/b"]
    async with await driver.reader("/a/b") as reader:
        assert await reader.read() == b"data"
    writer = await driver.writer("/a/c")
    await writer.write(b"x")
    await writer.commit()
    await driver.move("/a/c", "/a/d")
    assert await driver.redirect_url("/a/d", "GET") is None
    await driver.delete("/a/d")
    expected = {
        "PutContent": 1,
        "GetContent": 1,
        "Stat": 1,
        "List": 1,
        "Reader": 1,
        "Writer": 1,
        "Move": 1,
        "URLFor": 1,
        "Delete": 1,
    }
    assert {action: count(metrics, action) for action in expected} == expected


async def test_failed_calls_are_timed_too() -> None:
    metrics = Metrics()
    driver = InstrumentedDriver(InMemoryDriver(), metrics.storage)
    with pytest.raises(PathNotFound):
        await driver.stat("/missing")
    assert count(metrics, "Stat") == 1
    assert metrics.total("registry_storage_action_seconds_sum", action="Stat") > 0


async def test_local_path_and_walk_delegate(tmp_path: Path) -> None:
    metrics = Metrics()
    inner = FilesystemDriver(str(tmp_path))
    driver = InstrumentedDriver(inner, metrics.storage)
    await driver.put_content("/x/y", b"1")
    assert driver.local_path("/x/y") == inner.local_path("/x/y") == str(tmp_path / "x" / "y")
    assert [info.path async for info in driver.walk("/x")] == ["/x/y"]
    assert count(metrics, "PutContent", "filesystem") == 1
    assert "FilesystemDriver" in repr(driver)
    await driver.aclose()
