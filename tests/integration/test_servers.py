"""The process helpers of :mod:`cargohold.testing.servers`, exercised with real processes."""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path

import pytest

from cargohold.testing.servers import (
    RegistryProcess,
    RegistryStartError,
    cargohold_command,
    distribution_command,
    distribution_config,
    distribution_process,
    free_port,
    registry_process,
)
from tests.integration.clients import http

pytestmark = pytest.mark.integration

# Answers 200 on every GET and ignores SIGTERM, so only SIGKILL stops it.
STUBBORN_SERVER = """
import http.server, signal, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    assert 0 < port < 65536


async def test_async_context_manager_serves_then_stops(tmp_path: Path) -> None:
    process = distribution_process(tmp_path / "root", tmp_path / "work")
    async with process as running:
        assert running.running
        response = http("GET", f"{running.url}/v2/")
        assert response.status == 200
        assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert not process.running
    assert refuses_connections(process.port)
    assert "rootdirectory: " + str(tmp_path / "root") in process.config_path.read_text()


def test_process_that_exits_reports_its_log(tmp_path: Path) -> None:
    config = distribution_config(tmp_path / "root", free_port())
    config["storage"] = {"nosuchdriver": {}}
    workdir = tmp_path / "work"
    process = RegistryProcess(
        "distribution",
        distribution_command(workdir / "config.yml"),
        config,
        workdir,
        free_port(),
    )
    with pytest.raises(RegistryStartError, match=r"exited with code [1-9]") as info:
        process.start()
    assert "nosuchdriver" in str(info.value)
    assert not process.running


def test_process_that_never_answers_times_out_and_is_stopped(tmp_path: Path) -> None:
    port = free_port()
    process = RegistryProcess(
        "silent",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        {},
        tmp_path,
        port,
        startup_timeout=0.5,
    )
    with pytest.raises(RegistryStartError, match=r"did not answer 200 .*ConnectionRefused"):
        process.start()
    assert not process.running
    assert "(log is empty)" in process.log_tail()


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    port = free_port()
    process = RegistryProcess(
        "stubborn",
        [sys.executable, "-c", STUBBORN_SERVER, str(port)],
        {},
        tmp_path,
        port,
        stop_timeout=0.5,
    )
    process.start()
    assert process.running
    assert process.stop() == -signal.SIGKILL
    assert refuses_connections(port)
    assert process.stop() is None  # already stopped: nothing to do


def test_missing_distribution_binary_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RegistryStartError, match="install the Debian package 'docker-registry'"):
        distribution_command(Path("config.yml"))


def test_cargohold_command_runs_this_interpreter(tmp_path: Path) -> None:
    command = cargohold_command(tmp_path / "config.yml")
    assert command == [
        sys.executable,
        "-m",
        "cargohold.cli.main",
        "serve",
        str(tmp_path / "config.yml"),
    ]


def test_unknown_kind_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown registry kind 'zot'"):
        registry_process("zot", tmp_path, tmp_path)
