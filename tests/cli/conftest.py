"""Fixtures for the CLI tests: global logging state is restored after each test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from cargohold.logging import ACCESS_LOGGER


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    access = logging.getLogger(ACCESS_LOGGER)
    handlers, level, access_level = list(root.handlers), root.level, access.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    access.setLevel(access_level)
    structlog.reset_defaults()
