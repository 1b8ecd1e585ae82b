"""The debug application: Distribution's /debug/health JSON and the Prometheus endpoint."""

from __future__ import annotations

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from cargohold.api.debug import create_debug_app
from cargohold.api.health import HEALTH, PeriodicCheck
from cargohold.config import DebugConfig, PrometheusConfig
from tests.api.conftest import MakeClient

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


async def _ok() -> None:
    return None


def debug_config(enabled: bool = True, path: str = "/metrics") -> DebugConfig:
    return DebugConfig(addr=":5001", prometheus=PrometheusConfig(enabled=enabled, path=path))


async def test_metrics_after_real_traffic(
    make_client: MakeClient, aiohttp_client: AiohttpClient
) -> None:
    api = await make_client()
    debug = await aiohttp_client(create_debug_app(api.app, debug_config(path="/prom")))
    for _ in range(2):
        assert (await api.get("/v2/")).status == 200
    await api.close()  # every request finished and was recorded
    resp = await debug.get("/prom")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == PROMETHEUS_TEXT
    text = await resp.text()
    assert 'registry_http_requests_total{code="200",handler="base",method="GET"} 2.0' in text
    assert 'registry_http_request_duration_seconds_count{handler="base",method="GET"} 2.0' in text
    assert 'registry_http_in_flight_requests{handler="base"} 0.0' in text
    assert "# TYPE registry_storage_action_seconds histogram" in text
    assert (await debug.get("/metrics")).status == 404  # only the configured path


async def test_openmetrics_is_negotiated(
    make_client: MakeClient, aiohttp_client: AiohttpClient
) -> None:
    api = await make_client()
    debug = await aiohttp_client(create_debug_app(api.app, debug_config()))
    accept = "application/openmetrics-text; version=1.0.0"
    resp = await debug.get("/metrics", headers={"Accept": accept})
    assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
    assert (await resp.text()).endswith("# EOF\n")


async def test_metrics_are_off_unless_enabled(
    make_client: MakeClient, aiohttp_client: AiohttpClient
) -> None:
    api = await make_client()
    debug = await aiohttp_client(create_debug_app(api.app, debug_config(enabled=False)))
    assert (await debug.get("/metrics")).status == 404
    assert (await debug.get("/debug/health")).status == 200


async def test_health_json_is_distributions(
    make_client: MakeClient, aiohttp_client: AiohttpClient
) -> None:
    api = await make_client()
    debug = await aiohttp_client(create_debug_app(api.app, debug_config()))
    resp = await debug.get("/debug/health")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert await resp.json() == {}
    failing = PeriodicCheck("storagedriver_filesystem", _ok, interval=10)
    failing.update("disk gone")
    api.app[HEALTH].checks.append(failing)
    resp = await debug.get("/debug/health")
    assert resp.status == 503
    assert await resp.json() == {"storagedriver_filesystem": "disk gone"}
    assert (await debug.post("/debug/health")).status == 405


async def test_an_app_without_registry_state(aiohttp_client: AiohttpClient) -> None:
    debug = await aiohttp_client(create_debug_app(web.Application(), debug_config()))
    assert await (await debug.get("/debug/health")).json() == {}
    resp = await debug.get("/metrics")
    assert resp.status == 200
    assert "registry_" not in await resp.text()
