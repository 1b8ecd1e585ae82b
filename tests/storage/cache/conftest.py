"""Fixtures for cache tests: a real redis-server per module and a raw side client to inspect it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from cargohold.testing.redis_server import RedisServer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server shared by a module's tests; ``side`` empties it before each test."""
    with RedisServer() as server:
        yield server


@pytest.fixture
async def side(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A plain client of ``redis_server`` (not the code under test), over an emptied database."""
    client = Redis(host="127.0.0.1", port=redis_server.port)
    await client.flushall()
    yield client
    await client.aclose()
