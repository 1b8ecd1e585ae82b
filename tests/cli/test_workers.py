"""``http.workers`` > 1: forked workers on shared listeners, draining, replacement, start-up failure.

Each test runs the real ``cargohold serve`` (with the tiny app as the API) in a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_serve import CLIENT_CERT, ROOT, SERVER_CERT, SERVER_KEY

READY = "cargohold listening on "
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Served:
    proc: subprocess.Popen[str]
    url: str
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def workers(self) -> list[int]:
        self.wait_for_log("serving with")  # logged just after the announcement
        [line] = [e for e in self.lines() if e["msg"].startswith("serving with")]
        return [int(pid) for pid in line["msg"].split("[")[1].rstrip("]").split(", ")]

    def wait_for_log(self, text: str) -> None:
        for _ in range(2000):
            if any(text in e["msg"] for e in self.lines()):
                return
            time.sleep(0.01)
        pytest.fail(f"no log line with {text!r}:\n{self.log.read_text()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.wait()

    def wait(self) -> int:
        code = self.proc.wait(timeout=60)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code


def start(tmp_path: Path, http: str, *, env: dict[str, str] | None = None) -> Served:
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {formatter: json}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'data'}}}}}\n"
        f"http: {http}\n",
        encoding="utf-8",
    )
    log = tmp_path / "serve.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.cli.tiny_app", "serve", str(config)],
            cwd=ROOT,
            env={**environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(READY):
        proc.kill()
        proc.communicate()
        pytest.fail(f"unexpected start-up output {line!r}; log:\n{log.read_text()}")
    return Served(proc, line.split()[3], log)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[Served]]:
    """Started servers, killed at the end of the test if still running."""
    started: list[Served] = []
    yield started
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
        server.wait()


def get(url: str, context: ssl.SSLContext | None = None) -> str:
    with (
        _OPENER.open(url, timeout=30)
        if context is None
        else urllib.request.urlopen(url, timeout=30, context=context) as response
    ):
        body: bytes = response.read()
        return body.decode()


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_workers_serve_and_stop_cleanly(tmp_path: Path, served: list[Served]) -> None:
    server = start(tmp_path, '{addr: "127.0.0.1:0", workers: 3}')
    served.append(server)
    workers = server.workers()
    assert len(set(workers)) == 3
    assert all(parent_of(pid) == server.proc.pid for pid in workers)
    assert server.proc.pid not in workers
    for _ in range(10):
        assert int(get(server.url + "/pid")) in workers  # the supervisor itself never serves
    assert server.stop() == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists()


def test_sigterm_drains_in_flight_requests_in_every_worker(
    tmp_path: Path, served: list[Served]
) -> None:
    server = start(tmp_path, '{addr: "127.0.0.1:0", workers: 2, draintimeout: 30s}')
    served.append(server)
    marker = tmp_path / "started"
    result: list[str] = []
    thread = threading.Thread(
        target=lambda: result.append(get(f"{server.url}/sleep?seconds=1&marker={marker}"))
    )
    thread.start()
    for _ in range(2000):
        if marker.exists():
            break
        time.sleep(0.01)
    assert marker.exists()
    server.proc.send_signal(signal.SIGTERM)
    server.wait_for_log("stopping: draining 2 workers")
    thread.join(timeout=60)
    assert result == ["slept"]
    assert server.wait() == 0


def test_a_worker_that_dies_is_replaced(tmp_path: Path, served: list[Served]) -> None:
    server = start(tmp_path, '{addr: "127.0.0.1:0", workers: 2}')
    served.append(server)
    victim, survivor = server.workers()
    os.kill(victim, signal.SIGKILL)
    server.wait_for_log("died (signal SIGKILL): starting another")
    children_file = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children")
    for _ in range(2000):
        children = {int(pid) for pid in children_file.read_text().split()}
        if len(children) == 2:
            break
        time.sleep(0.01)
    assert survivor in children
    assert victim not in children
    assert len(children) == 2
    for _ in range(5):
        assert int(get(server.url + "/pid")) in children
    assert server.stop(signal.SIGINT) == 0


def test_a_worker_that_cannot_start_stops_the_server(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\nlog: {formatter: json}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path}}}}}\n"
        'http: {addr: "127.0.0.1:0", workers: 2}\n',
        encoding="utf-8",
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    result = subprocess.run(
        [sys.executable, "-m", "tests.cli.tiny_app", "serve", str(config)],
        cwd=ROOT,
        env={**environ, "TINY_APP_FAIL": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert READY not in result.stdout
    assert "tiny app told to fail" in result.stderr
    assert "exited before listening (exit code 1)" in result.stderr


def test_tls_and_client_certificates_with_workers(tmp_path: Path, served: list[Served]) -> None:
    tls = f"{{certificate: {SERVER_CERT}, key: {SERVER_KEY}, clientcas: [{CLIENT_CERT}]}}"
    server = start(tmp_path, f'{{addr: "127.0.0.1:0", workers: 2, tls: {tls}}}')
    served.append(server)
    assert server.url.startswith("https://127.0.0.1:")
    context = ssl.create_default_context(cafile=SERVER_CERT)
    context.load_cert_chain(CLIENT_CERT, str(Path(CLIENT_CERT).with_suffix(".key")))
    assert get(server.url + "/", context) == "ok"
    without_cert = ssl.create_default_context(cafile=SERVER_CERT)
    with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
        get(server.url + "/", without_cert)
    assert server.stop() == 0


def test_unix_socket_with_workers(tmp_path: Path, served: list[Served]) -> None:
    path = tmp_path / "registry.sock"
    server = start(tmp_path, f"{{net: unix, addr: {path}, workers: 2}}")
    served.append(server)
    assert server.url == f"unix:{path}"
    result = subprocess.run(
        ["curl", "-s", "--unix-socket", str(path), "http://registry/"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.stdout == "ok"
    assert server.stop() == 0
    assert not path.exists()
