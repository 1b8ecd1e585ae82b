"""A live registry per test (the real app behind the real runner) plus a seeded repository.

Hostile requests go out over raw sockets (:mod:`tests.hardening.rawhttp`) so nothing sanitises
them; every case then checks that storage is byte-for-byte what it was before the request.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cargohold.api import context, create_app
from cargohold.api.server_options import RegistryRunner, ServerOptions
from cargohold.config import validate_config
from tests.hardening.rawhttp import Live, seed

# Short enough that a case whose body never completes ends quickly; long enough for any sender.
READ_TIMEOUT = "2s"


@contextlib.asynccontextmanager
async def serve(
    driver: dict[str, Any], timeouts: dict[str, str] | None = None
) -> AsyncIterator[Live]:
    """The registry on ``driver``, served on a loopback port by RegistryRunner."""
    timeout = {"read": READ_TIMEOUT, "write": "5s", "idle": "2s", **(timeouts or {})}
    config = validate_config(
        {
            "storage": {**driver, "delete": {"enabled": True}},
            "http": {"timeout": timeout},
        }
    )
    app = create_app(config)
    runner = RegistryRunner(app, ServerOptions.from_config(config.http), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port: int = runner.addresses[0][1]
        yield Live(port, app[context.DRIVER])
    finally:
        await runner.cleanup()


@pytest.fixture
async def live() -> AsyncIterator[Live]:
    """The registry on an in-memory driver."""
    async with serve({"inmemory": {}}) as running:
        yield running


@pytest.fixture
async def ranged(driver_kind: str, tmp_path: Path) -> AsyncIterator[Live]:
    """A seeded registry on the driver ``driver_kind`` names (the filesystem one sends files)."""
    params = {"rootdirectory": str(tmp_path)} if driver_kind == "filesystem" else {}
    async with serve({driver_kind: params}) as running:
        await seed(running)
        yield running


@pytest.fixture
async def seeded(live: Live) -> Live:
    """``live`` with a repository holding a blob, a tagged manifest and open upload sessions."""
    await seed(live)
    return live


@pytest.fixture(autouse=True)
def no_server_errors(caplog: pytest.LogCaptureFixture) -> Any:
    """Fail any hardening test during which the server logged an error (a hidden 500)."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [
        r
        for r in caplog.get_records("call")
        if r.levelno >= logging.ERROR and r.name.startswith(("cargohold", "aiohttp"))
    ]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]
