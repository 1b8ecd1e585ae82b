"""create_driver: names, parameters and their errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cargohold.storage.driver.factory import create_driver, driver_names
from cargohold.storage.driver.filesystem import FilesystemDriver
from cargohold.storage.driver.inmemory import InMemoryDriver


def test_driver_names() -> None:
    assert driver_names() == ["filesystem", "inmemory", "s3"]


def test_inmemory() -> None:
    assert isinstance(create_driver("inmemory", {}), InMemoryDriver)
    assert isinstance(create_driver("inmemory"), InMemoryDriver)


def test_filesystem_defaults() -> None:
    d = create_driver("filesystem", {})
    assert isinstance(d, FilesystemDriver)
    assert (d.rootdirectory, d.maxthreads, d.directwrites) == ("/var/lib/registry", 100, False)


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), ("true", True), ("1", True), ("False", False)]
)
def test_filesystem_directwrites(value: Any, expected: bool) -> None:
    d = create_driver("filesystem", {"directwrites": value})
    assert isinstance(d, FilesystemDriver)
    assert d.directwrites is expected


@pytest.mark.parametrize("value", ["yes", 2, [True]])
def test_filesystem_bad_directwrites(value: Any) -> None:
    with pytest.raises(ValueError, match="filesystem driver: directwrites must be a boolean"):
        create_driver("filesystem", {"directwrites": value})


@pytest.mark.parametrize(
    ("value", "expected"), [(50, 50), ("64", 64), (" 30 ", 30), (10, 25), (None, 100)]
)
def test_filesystem_parameters(tmp_path: Path, value: Any, expected: int) -> None:
    d = create_driver("filesystem", {"rootdirectory": str(tmp_path), "maxthreads": value})
    assert isinstance(d, FilesystemDriver)
    assert (d.rootdirectory, d.maxthreads) == (str(tmp_path), expected)


@pytest.mark.parametrize("value", ["many", "", "1.5", 2.5, True, [100], "\u00b2"])
def test_filesystem_bad_maxthreads(value: Any) -> None:
    with pytest.raises(ValueError, match="maxthreads must be an integer"):
        create_driver("filesystem", {"maxthreads": value})


@pytest.mark.parametrize("value", ["", 42, None])
def test_filesystem_bad_rootdirectory(value: Any) -> None:
    with pytest.raises(ValueError, match="rootdirectory"):
        create_driver("filesystem", {"rootdirectory": value})


def test_unknown_driver() -> None:
    with pytest.raises(
        ValueError, match=r"unknown storage driver 'gcs' \(known: filesystem, inmemory, s3\)"
    ):
        create_driver("gcs", {})


def test_unknown_parameters() -> None:
    with pytest.raises(
        ValueError, match=r"filesystem driver: unknown parameter\(s\) bogus, rootdir "
    ):
        create_driver("filesystem", {"rootdir": "/x", "bogus": 1, "maxthreads": 30})
    with pytest.raises(
        ValueError, match=r"inmemory driver: unknown parameter\(s\) size \(accepted: none\)"
    ):
        create_driver("inmemory", {"size": 1})
