"""The in-memory driver against the shared driver suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cargohold.storage.driver.base import StorageDriver
from cargohold.storage.driver.inmemory import InMemoryDriver
from cargohold.testing.driver_suite import DriverSuite


class TestInMemoryDriver(DriverSuite):
    @pytest.fixture
    async def driver(self) -> AsyncIterator[StorageDriver]:
        d = InMemoryDriver()
        yield d
        await d.aclose()
