"""Helpers shared by the config tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from cargohold.config import Config, load_config

Loader = Callable[..., Config]


@pytest.fixture
def load_yaml(tmp_path: Path) -> Loader:
    """Write a (dedented) config.yml and load it with the given environment (empty by default)."""

    def load(text: str, env: Mapping[str, str] | None = None) -> Config:
        path = tmp_path / "config.yml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return load_config(path, environ=env or {})

    return load
