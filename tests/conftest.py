"""Session-wide servers the tests share: one SeaweedFS (S3) and one redis-server.

Each is started on first use only, so a run that needs neither pays nothing. Tests isolate
themselves inside them: an S3 ``rootdirectory`` of their own, Redis keys that are content
addressed or flushed by the test's own fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cargohold.testing.redis_server import RedisServer
from cargohold.testing.seaweedfs import SeaweedFS


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[SeaweedFS]:
    """One S3-compatible server (bucket ``seaweedfs.bucket``) for the whole session."""
    with SeaweedFS() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the whole session (a closer conftest may narrow the scope)."""
    with RedisServer() as server:
        yield server
