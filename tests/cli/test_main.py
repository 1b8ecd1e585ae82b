"""The click commands: --version, config check, and serve's failures before it listens."""

from __future__ import annotations

import importlib.metadata
import logging
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from click.testing import CliRunner

from cargohold import __version__
from cargohold.cli import serve as serve_module
from cargohold.cli.main import main
from cargohold.cli.serve import AppFactory
from cargohold.config import Config
from cargohold.logging import ACCESS_LOGGER

GOOD = """\
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  secret: hunter2-very-secret
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"cargohold {__version__}\n"
    assert __version__ == importlib.metadata.version("cargohold")


def test_help_lists_commands(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output
    assert "config" in result.output


def test_config_check_ok(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["config", "check", write(tmp_path, GOOD)], env={})
    assert result.exit_code == 0
    assert result.stdout == "config OK\n"


def test_config_check_reports_every_problem(runner: CliRunner, tmp_path: Path) -> None:
    text = GOOD.replace("rootdirectory", "rootdirectry") + "auth: {htpasswd: {realm: r}}\n"
    result = runner.invoke(main, ["config", "check", write(tmp_path, text)])
    assert result.exit_code == 1
    assert "config OK" not in result.stdout
    assert "storage.filesystem.rootdirectry: unknown key" in result.stderr
    assert "auth: not supported yet" in result.stderr


def test_config_check_applies_environment_overrides(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = runner.invoke(main, ["config", "check", path], env={"REGISTRY_HTTP_NET": "udp"})
    assert result.exit_code == 1
    assert "http.net: must be 'tcp' or 'unix', got 'udp' (set by REGISTRY_HTTP_NET)" in (
        result.stderr
    )


def test_config_check_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["config", "check", str(tmp_path / "absent.yml")])
    assert result.exit_code == 1
    assert "absent.yml: cannot read config file" in result.stderr


def test_config_check_show_redacts_secrets(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["config", "check", "--show", write(tmp_path, GOOD)])
    assert result.exit_code == 0
    assert "hunter2" not in result.output
    assert "secret: '**********'" in result.stdout
    assert "rootdirectory: /var/lib/registry" in result.stdout
    assert result.stdout.endswith("config OK\n")


def test_serve_refuses_an_invalid_config(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["serve", write(tmp_path, GOOD + "proxy: {remoteurl: x}\n")])
    assert result.exit_code == 1
    assert "invalid configuration" in result.stderr
    assert "proxy: not supported yet" in result.stderr
    assert "listening" not in result.output


def test_serve_without_a_config_applies_overrides_to_the_defaults(
    runner: CliRunner, tmp_path: Path
) -> None:
    env = {"CARGOHOLD_DATA_DIR": str(tmp_path / "data"), "REGISTRY_HTTP_ADDR": "bad"}
    result = runner.invoke(main, ["serve"], env=env)
    assert result.exit_code == 1
    assert "http.addr: expected HOST:PORT or :PORT, got 'bad' (set by REGISTRY_HTTP_ADDR)" in (
        result.stderr
    )


class _FakeServe:
    """Stands in for cargohold.cli.serve.serve: records its arguments, or raises."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[Config, AppFactory]] = []
        self.error = error

    def __call__(
        self, config: Config, app_factory: AppFactory, announce: Callable[[str], None] = print
    ) -> int:
        self.calls.append((config, app_factory))
        if self.error is not None:
            raise self.error
        announce("listening (fake)")
        return 0


def _create_app(config: Config) -> web.Application:
    return web.Application()


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """Provide cargohold.api.app.create_app, so these tests do not depend on the API layer."""
    module = types.ModuleType("cargohold.api.app")
    module.create_app = _create_app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cargohold.api.app", module)


@pytest.mark.usefixtures("fake_api")
def test_serve_without_a_config_uses_defaults_and_says_where_data_goes(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _FakeServe()
    monkeypatch.setattr(serve_module, "serve", fake)
    data = str(tmp_path / "data")
    result = runner.invoke(main, ["serve"], env={"CARGOHOLD_DATA_DIR": data})
    assert result.exit_code == 0, result.output
    assert f"data in {data}" in result.stdout
    assert "listening (fake)" in result.stdout
    [(config, factory)] = fake.calls
    assert factory is _create_app
    assert config.storage.driver_params["rootdirectory"] == data
    assert config.http.addr == "127.0.0.1:5000"


@pytest.mark.usefixtures("fake_api")
def test_serve_configures_logging_from_the_config(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve_module, "serve", _FakeServe())
    text = GOOD + "log: {level: error, accesslog: {disabled: true}}\n"
    result = runner.invoke(main, ["serve", write(tmp_path, text)])
    assert result.exit_code == 0, result.output
    assert "data in" not in result.stdout
    assert logging.getLogger().level == logging.ERROR
    assert not logging.getLogger(ACCESS_LOGGER).isEnabledFor(logging.CRITICAL)


@pytest.mark.usefixtures("fake_api")
def test_serve_reports_a_listener_failure(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = OSError(98, "Address already in use")
    monkeypatch.setattr(serve_module, "serve", _FakeServe(error))
    result = runner.invoke(main, ["serve", write(tmp_path, GOOD)])
    assert result.exit_code == 1
    assert "cannot start the server on :5000" in result.stderr
    assert "Address already in use" in result.stderr
