"""Fixtures: the real application (``create_app``) over the real in-memory or filesystem driver."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from cargohold.api import create_app
from cargohold.config import Config, validate_config
from tests.api.helpers import Client

MakeClient = Callable[..., Awaitable[Client]]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def make_config(driver: dict[str, Any] | None = None, **sections: Any) -> Config:
    """A registry on ``driver`` (in-memory by default) with deletes enabled, then ``sections``."""
    storage = {**(driver or {"inmemory": {}}), "delete": {"enabled": True}}
    return validate_config(_merge({"storage": storage}, sections))


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient) -> MakeClient:
    """Start the application for a config built by :func:`make_config` from ``sections``."""

    async def make(driver: dict[str, Any] | None = None, **sections: Any) -> Client:
        return await aiohttp_client(create_app(make_config(driver, **sections)))

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client()


@pytest.fixture
async def fs_client(make_client: MakeClient, tmp_path: Path) -> Client:
    """The filesystem driver in ``tmp_path``: blob GETs go through sendfile."""
    return await make_client({"filesystem": {"rootdirectory": str(tmp_path)}})
