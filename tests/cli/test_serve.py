"""Serving an aiohttp app as ``cargohold serve`` does: TCP, unix socket, TLS, draining, signals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from cargohold.cli.serve import (
    build_ssl_context,
    listener_url,
    run_server,
    storage_description,
    worker_count,
)
from cargohold.config import (
    DebugConfig,
    HTTPConfig,
    PrometheusConfig,
    TLSConfig,
    default_config,
    validate_config,
)
from tests.cli.tiny_app import RELEASE, SHUTTING_DOWN, STARTED, create_app

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[2]
SERVER_CERT, SERVER_KEY = str(DATA / "server.crt"), str(DATA / "server.key")
CLIENT_CERT, CLIENT_KEY = str(DATA / "client.crt"), str(DATA / "client.key")


@dataclass
class Running:
    url: str
    app: web.Application
    stop: asyncio.Event
    task: asyncio.Task[None]


@asynccontextmanager
async def serving(http: HTTPConfig) -> AsyncIterator[Running]:
    """Run run_server in this loop with the tiny app until the block ends."""
    app = create_app(default_config("/unused"))
    stop = asyncio.Event()
    announced: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_server(app, http, stop=stop, handle_signals=False, on_listening=announced.set_result)
    )
    try:
        url = await asyncio.wait_for(announced, 30)
        yield Running(url, app, stop, task)
    finally:
        stop.set()
        app[RELEASE].set()
        await task


def client_context(*, cert: bool = False, max_tls12: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=SERVER_CERT)
    if cert:
        context.load_cert_chain(CLIENT_CERT, CLIENT_KEY)
    if max_tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


async def test_tcp_serves_until_stopped() -> None:
    async with serving(HTTPConfig(addr="127.0.0.1:0")) as run, aiohttp.ClientSession() as client:
        assert run.url.startswith("http://127.0.0.1:")
        assert not run.url.endswith(":0")
        async with client.get(run.url + "/") as response:
            assert response.status == 200
            assert await response.text() == "ok"
        run.stop.set()
        await run.task
        with pytest.raises(aiohttp.ClientConnectionError):
            await client.get(run.url + "/")


async def test_stop_drains_in_flight_requests() -> None:
    http = HTTPConfig(addr="127.0.0.1:0", draintimeout=timedelta(seconds=60))
    async with serving(http) as run, aiohttp.ClientSession() as client:

        async def slow() -> tuple[int, str]:
            async with client.get(run.url + "/slow") as response:
                return response.status, await response.text()

        pending = asyncio.create_task(slow())
        await run.app[STARTED].wait()
        run.stop.set()
        # The listener closes, but the request in flight is still being waited for.
        await until_refused(run.url)
        assert not pending.done()
        assert not run.task.done()
        assert not run.app[SHUTTING_DOWN].is_set()  # on_shutdown runs once drained
        run.app[RELEASE].set()
        assert await pending == (200, "slow ok")
        await run.task
        assert run.app[SHUTTING_DOWN].is_set()


async def until_refused(url: str) -> None:
    """Wait until connecting to ``url`` fails (the server stopped accepting)."""
    async with aiohttp.ClientSession() as other:
        for _ in range(1000):
            try:
                async with other.get(url + "/") as response:
                    await response.read()
            except aiohttp.ClientConnectionError:
                return
            await asyncio.sleep(0.01)
    pytest.fail(f"{url} still accepts connections")


async def test_zero_draintimeout_does_not_wait_for_requests() -> None:
    async with serving(HTTPConfig(addr="127.0.0.1:0")) as run, aiohttp.ClientSession() as client:
        pending = asyncio.create_task(client.get(run.url + "/slow"))
        await run.app[STARTED].wait()
        run.stop.set()
        await run.task  # returns although /slow was never released
        with pytest.raises(aiohttp.ClientError):
            await pending
        assert not run.app[RELEASE].is_set()


async def test_unix_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "registry.sock")
    async with serving(HTTPConfig(net="unix", addr=path)) as run:
        assert run.url == f"unix:{path}"
        connector = aiohttp.UnixConnector(path=path)
        async with (
            aiohttp.ClientSession(connector=connector) as client,
            client.get("http://registry/") as response,
        ):
            assert await response.text() == "ok"


async def test_tls() -> None:
    http = HTTPConfig(addr="127.0.0.1:0", tls=TLSConfig(certificate=SERVER_CERT, key=SERVER_KEY))
    async with serving(http) as run, aiohttp.ClientSession() as client:
        assert run.url.startswith("https://127.0.0.1:")
        async with client.get(run.url + "/", ssl=client_context()) as response:
            assert await response.text() == "ok"
        with pytest.raises(aiohttp.ClientError):
            await client.get(run.url.replace("https", "http") + "/")


async def test_tls_client_certificates_are_required_with_clientcas() -> None:
    tls = TLSConfig(certificate=SERVER_CERT, key=SERVER_KEY, clientcas=[CLIENT_CERT])
    async with serving(HTTPConfig(addr="127.0.0.1:0", tls=tls)) as run:
        async with (
            aiohttp.ClientSession() as client,
            client.get(run.url + "/", ssl=client_context(cert=True)) as response,
        ):
            assert await response.text() == "ok"
        async with aiohttp.ClientSession() as client:
            with pytest.raises(aiohttp.ClientError):
                async with client.get(run.url + "/", ssl=client_context()) as response:
                    await response.text()


async def test_tls_minimum_version() -> None:
    tls = TLSConfig(certificate=SERVER_CERT, key=SERVER_KEY, minimumtls="tls1.3")
    async with (
        serving(HTTPConfig(addr="127.0.0.1:0", tls=tls)) as run,
        aiohttp.ClientSession() as client,
    ):
        with pytest.raises(aiohttp.ClientError):
            await client.get(run.url + "/", ssl=client_context(max_tls12=True))
        async with client.get(run.url + "/", ssl=client_context()) as response:
            assert await response.text() == "ok"


async def test_address_in_use_raises_oserror() -> None:
    async with serving(HTTPConfig(addr="127.0.0.1:0")) as run:
        taken = HTTPConfig(addr=run.url.removeprefix("http://"))
        with pytest.raises(OSError, match="in use"):
            await run_server(create_app(default_config("/unused")), taken, handle_signals=False)


def test_build_ssl_context() -> None:
    assert build_ssl_context(TLSConfig()) is None
    plain = build_ssl_context(TLSConfig(certificate=SERVER_CERT, key=SERVER_KEY))
    assert plain is not None
    assert plain.minimum_version == ssl.TLSVersion.TLSv1_2
    assert plain.verify_mode == ssl.CERT_NONE
    tls = TLSConfig(
        certificate=SERVER_CERT, key=SERVER_KEY, clientcas=[CLIENT_CERT], minimumtls="tls1.3"
    )
    strict = build_ssl_context(tls)
    assert strict is not None
    assert strict.minimum_version == ssl.TLSVersion.TLSv1_3
    assert strict.verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(FileNotFoundError):
        build_ssl_context(TLSConfig(certificate="/missing.crt", key="/missing.key"))


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ({"inmemory": None}, "inmemory"),
        ({"filesystem": {"rootdirectory": "/srv/r"}}, "filesystem at /srv/r"),
    ],
)
def test_storage_description(storage: dict[str, object], expected: str) -> None:
    assert storage_description(validate_config({"storage": storage})) == expected


def _start_cli(tmp_path: Path, config: str) -> tuple[subprocess.Popen[str], str]:
    """Run ``cargohold serve`` (tiny app as the API) and return it with its announced URL."""
    path = tmp_path / "config.yml"
    path.write_text(config, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.cli.tiny_app", "serve", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    prefix = "cargohold listening on "
    if not line.startswith(prefix):
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"unexpected start-up output {line!r}; stderr:\n{err}")
    return proc, line


CLI_CONFIG = """\
version: 0.1
log: {formatter: json, fields: {service: cargohold-test}}
storage: {filesystem: {rootdirectory: /srv/registry}}
http: {addr: "127.0.0.1:0", draintimeout: 30s, workers: 1}
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serve_exits_zero_on_signal(tmp_path: Path, sig: signal.Signals) -> None:
    proc, line = _start_cli(tmp_path, CLI_CONFIG)
    try:
        url = line.split()[3]
        assert line.endswith("(storage: filesystem at /srv/registry)\n")
        with urllib.request.urlopen(url + "/", timeout=30) as response:
            assert response.read() == b"ok"
        with urllib.request.urlopen(url + "/loop", timeout=30) as response:
            assert response.read().startswith(b"uvloop")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    # The API logs its own access lines (tests/api); aiohttp's are off for any served app.
    assert "GET /loop" not in err
    lines = [json.loads(entry) for entry in err.splitlines()]
    assert all(line["service"] == "cargohold-test" for line in lines)


async def test_debug_server_runs_beside_the_app_and_stops_after_it() -> None:
    debug = DebugConfig(addr="127.0.0.1:0", prometheus=PrometheusConfig(enabled=True))
    http = HTTPConfig(addr="127.0.0.1:0", debug=debug)
    app = create_app(default_config("/unused"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main_url: asyncio.Future[str] = loop.create_future()
    debug_url: asyncio.Future[str] = loop.create_future()
    task = asyncio.create_task(
        run_server(
            app,
            http,
            stop=stop,
            handle_signals=False,
            on_listening=main_url.set_result,
            on_debug_listening=debug_url.set_result,
        )
    )
    url = await asyncio.wait_for(debug_url, 30)
    assert url != await main_url
    async with aiohttp.ClientSession() as client:
        async with client.get(url + "/debug/health") as response:
            assert response.status == 200
            assert await response.json() == {}
        async with client.get(url + "/metrics") as response:
            assert response.status == 200
        stop.set()
        await task
        with pytest.raises(aiohttp.ClientConnectionError):
            await client.get(url + "/debug/health")


def test_listener_url() -> None:
    assert listener_url(("127.0.0.1", 5000), "http") == "http://127.0.0.1:5000"
    assert listener_url(("::1", 5000, 0, 0), "https") == "https://[::1]:5000"
    assert listener_url("/run/registry.sock", "http") == "unix:/run/registry.sock"


def test_worker_count(caplog: pytest.LogCaptureFixture) -> None:
    def config(workers: int, driver: dict[str, object]) -> int:
        return worker_count(validate_config({"storage": driver, "http": {"workers": workers}}))

    filesystem: dict[str, object] = {"filesystem": {"rootdirectory": "/srv"}}
    assert config(3, filesystem) == 3
    assert config(1, filesystem) == 1
    assert config(0, filesystem) == (os.cpu_count() or 1)
    caplog.clear()
    with caplog.at_level("WARNING", logger="cargohold.serve"):
        assert config(4, {"inmemory": None}) == 1
    assert "inmemory storage driver lives in one process" in caplog.text
