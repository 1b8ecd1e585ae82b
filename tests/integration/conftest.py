"""Fixtures that start real registries: each test gets a fresh root directory and process."""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from cargohold.testing.servers import RegistryProcess, StartRegistry, registry_process
from tests.integration.images import OciLayout

REGISTRY_KINDS = ["cargohold", "distribution"]

_STARTED = pytest.StashKey[list[RegistryProcess]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failing test's report shows the logs of the registries it started."""
    report = yield
    if report.failed:
        for process in item.stash.get(_STARTED, []):
            report.sections.append((f"{process.name} log {process.log_path}", process.log_tail()))
    return report


@pytest.fixture
def start_registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StartRegistry]:
    """Start registries of a given kind on a given root; all are stopped at teardown."""
    started = request.node.stash.setdefault(_STARTED, [])
    counter = itertools.count()

    def start(kind: str, rootdir: Path | None = None, *, delete: bool = True) -> RegistryProcess:
        n = next(counter)
        root = rootdir or tmp_path / f"root-{n}"
        process = registry_process(kind, root, tmp_path / f"{kind}-{n}", delete=delete)
        started.append(process)
        process.start()
        return process

    yield start
    for process in reversed(started):
        process.stop()


@pytest.fixture(params=REGISTRY_KINDS)
def registry_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def registry(registry_kind: str, start_registry: StartRegistry) -> RegistryProcess:
    """A running registry of each kind, on an empty root."""
    return start_registry(registry_kind)


@pytest.fixture
def layout(tmp_path: Path) -> OciLayout:
    """An empty OCI image layout directory to build images into."""
    return OciLayout(tmp_path / "layout")
