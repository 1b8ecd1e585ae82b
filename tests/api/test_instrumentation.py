"""Per-request metrics, access log and log context, driven by real requests against create_app."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from yarl import URL

from cargohold.api import app as app_module
from cargohold.api import context, instrumentation
from cargohold.api.instrumentation import ROUTE_NAMES
from cargohold.config import AccessLogConfig, LogConfig
from cargohold.errors import StorageError
from cargohold.logging import ACCESS_LOGGER, configure_logging
from cargohold.metrics import Metrics
from cargohold.storage.driver.instrumented import InstrumentedDriver
from cargohold.tracing import Tracing
from tests.api.conftest import MakeClient
from tests.api.helpers import Client, push_blob, push_image, sha256

REQUESTS = "registry_http_requests_total"


def local(location: str) -> str:
    """The path and query of an absolute Location, for the test client."""
    return str(URL(location).relative())


async def eventually(check: Callable[[], bool]) -> None:
    """Wait until ``check()`` holds: the server records a request after its body went out."""
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.005)
    assert check()


def metrics_of(client: Client) -> Metrics:
    return client.app[context.METRICS]


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """JSON logging into a buffer for the test, then the previous logging set-up restored."""
    root, access = logging.getLogger(), logging.getLogger(ACCESS_LOGGER)
    handlers, level, access_level = list(root.handlers), root.level, access.level
    stream = io.StringIO()
    configure_logging(LogConfig(formatter="json"), stream=stream)
    yield stream
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    access.setLevel(access_level)
    structlog.reset_defaults()


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def ours(stream: io.StringIO) -> list[dict[str, Any]]:
    """Lines of the server under test, without the test server's own aiohttp access lines."""
    return [entry for entry in parsed(stream) if entry["logger"] != "aiohttp.access"]


def access_entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [entry for entry in parsed(stream) if entry["logger"] == ACCESS_LOGGER]


async def test_requests_are_counted_per_route_code_and_method(client: Client) -> None:
    metrics = metrics_of(client)
    for _ in range(3):
        assert (await client.get("/v2/")).status == 200
    assert (await client.get("/v2/foo/manifests/missing")).status == 404
    assert (await client.head("/v2/foo/manifests/missing")).status == 404
    assert (await client.get("/v2/foo/tags/list")).status == 404
    assert (await client.get("/v2/_catalog")).status == 200
    assert (await client.post("/v2/")).status == 405
    sample = metrics.registry.get_sample_value
    assert sample(REQUESTS, {"handler": "base", "code": "200", "method": "GET"}) == 3
    assert sample(REQUESTS, {"handler": "base", "code": "405", "method": "POST"}) == 1
    assert sample(REQUESTS, {"handler": "manifest", "code": "404", "method": "GET"}) == 1
    assert sample(REQUESTS, {"handler": "manifest", "code": "404", "method": "HEAD"}) == 1
    assert sample(REQUESTS, {"handler": "tags", "code": "404", "method": "GET"}) == 1
    assert sample(REQUESTS, {"handler": "catalog", "code": "200", "method": "GET"}) == 1
    duration = "registry_http_request_duration_seconds_count"
    assert sample(duration, {"handler": "base", "method": "GET"}) == 3
    assert sample(duration, {"handler": "base", "method": "POST"}) == 1
    assert sample("registry_http_in_flight_requests", {"handler": "base"}) == 0


async def test_paths_outside_the_api_are_not_measured(client: Client) -> None:
    assert (await client.get("/")).status == 200
    assert (await client.get("/elsewhere")).status == 404
    assert (await client.get("/v2/x/unknown/y")).status == 404
    assert metrics_of(client).total(REQUESTS) == 0


async def test_route_names_are_distributions(client: Client) -> None:
    assert set(ROUTE_NAMES.values()) == {
        "base",
        "catalog",
        "tags",
        "blob",
        "blob_upload",
        "blob_upload_chunk",
        "manifest",
        "referrers",
    }
    data = b"chunked upload"
    resp = await client.post("/v2/foo/blobs/uploads/")
    assert resp.status == 202
    location = local(resp.headers["Location"])
    resp = await client.patch(location, data=data)
    assert resp.status == 202
    resp = await client.put(f"{location}?digest={sha256(data)}")
    assert resp.status == 201
    sample = metrics_of(client).registry.get_sample_value
    assert sample(REQUESTS, {"handler": "blob_upload", "code": "202", "method": "POST"}) == 1
    assert sample(REQUESTS, {"handler": "blob_upload_chunk", "code": "202", "method": "PATCH"}) == 1
    assert sample(REQUESTS, {"handler": "blob_upload_chunk", "code": "201", "method": "PUT"}) == 1


async def test_request_and_response_sizes(fs_client: Client) -> None:
    data = b"x" * 5000
    digest = await push_blob(fs_client, "foo", data)
    resp = await fs_client.get(f"/v2/foo/blobs/{digest}")  # sendfile: aiohttp never counts it
    assert await resp.read() == data
    sample = metrics_of(fs_client).registry.get_sample_value
    await eventually(
        lambda: sample(REQUESTS, {"handler": "blob", "code": "200", "method": "GET"}) == 1
    )
    assert sample("registry_http_request_size_bytes_sum", {"handler": "blob_upload"}) == 5000
    assert sample("registry_http_response_size_bytes_sum", {"handler": "blob"}) == 5000
    # 5000 bytes land in the 8 KiB bucket, not the 4 KiB one.
    bucket = "registry_http_response_size_bytes_bucket"
    assert sample(bucket, {"handler": "blob", "le": "4096.0"}) == 0
    assert sample(bucket, {"handler": "blob", "le": "8192.0"}) == 1


async def test_upload_outcomes_and_bytes(client: Client) -> None:
    metrics = metrics_of(client)

    def blob(name: str) -> float:
        return metrics.total(f"registry_blob_{name}_total")

    await push_blob(client, "foo", b"monolithic")  # started and completed in one request
    resp = await client.post("/v2/foo/blobs/uploads/")
    location = local(resp.headers["Location"])
    await client.patch(location, data=b"part one ")
    await client.patch(location, data=b"part two")
    resp = await client.put(f"{location}?digest={sha256(b'part one part two')}")
    assert resp.status == 201
    resp = await client.post(f"/v2/foo/blobs/uploads/?digest={sha256(b'other')}", data=b"wrong")
    assert resp.status == 400  # digest mismatch: a failed upload
    mounted = await client.post(f"/v2/bar/blobs/uploads/?mount={sha256(b'monolithic')}&from=foo")
    assert mounted.status == 201  # a mount moves no bytes and is no upload
    # Started: two single POSTs and one session; the mismatched single POST also failed.
    assert (blob("uploads_started"), blob("uploads_completed"), blob("uploads_failed")) == (3, 2, 1)
    assert blob("pushed_bytes") == len(b"monolithic") + len(b"part one part two") + len(b"wrong")
    digest = sha256(b"monolithic")
    assert await (await client.get(f"/v2/foo/blobs/{digest}")).read() == b"monolithic"
    ranged = await client.get(f"/v2/foo/blobs/{digest}", headers={"Range": "bytes=0-3"})
    assert ranged.status == 206
    assert await ranged.read() == b"mono"
    assert (await client.head(f"/v2/foo/blobs/{digest}")).status == 200  # HEAD: no body
    await eventually(lambda: metrics.total(REQUESTS, handler="blob") == 3)
    assert blob("pulled_bytes") == len(b"monolithic") + 4


async def test_in_flight_counts_a_request_while_it_runs(client: Client) -> None:
    gauge = metrics_of(client).http.in_flight.labels("blob_upload_chunk")
    resp = await client.post("/v2/foo/blobs/uploads/")
    location = local(resp.headers["Location"])
    release = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"first"
        await release.wait()
        yield b"second"

    pending = asyncio.create_task(client.patch(location, data=body()))
    for _ in range(500):
        if gauge._value.get() == 1:
            break
        await asyncio.sleep(0.01)
    assert gauge._value.get() == 1
    release.set()
    assert (await pending).status == 202
    assert gauge._value.get() == 0


async def test_storage_actions_are_timed_through_the_one_wrapper(client: Client) -> None:
    assert isinstance(client.app[context.DRIVER], InstrumentedDriver)
    await push_image(client, "foo", "v1")
    metrics = metrics_of(client)
    count = "registry_storage_action_seconds_count"
    for action in ("PutContent", "GetContent", "Stat", "Writer", "Move"):
        assert metrics.total(count, driver="inmemory", action=action) > 0, action


async def test_access_log_one_json_line_per_request(
    make_client: MakeClient, log_lines: io.StringIO
) -> None:
    client = await make_client()
    _, digest = await push_image(client, "library/alpine", "3.20")
    log_lines.truncate(0)
    log_lines.seek(0)
    resp = await client.get(
        "/v2/library/alpine/manifests/3.20?secret=hunter2", headers={"X-Request-Id": "req-42"}
    )
    body = await resp.read()
    assert resp.headers["X-Request-Id"] == "req-42"
    await eventually(lambda: len(access_entries(log_lines)) == 1)
    [entry] = access_entries(log_lines)
    assert list(entry)[:3] == ["time", "level", "msg"]
    assert entry["msg"].startswith('127.0.0.1 "GET /v2/library/alpine/manifests/3.20 HTTP/1.1" 200')
    assert entry["request_id"] == "req-42"
    assert entry["method"] == "GET"
    assert entry["route"] == "manifest"
    assert entry["repository"] == "library/alpine"
    assert entry["status"] == 200
    assert entry["bytes"] == len(body)
    assert entry["duration"] >= 0
    assert "hunter2" not in json.dumps(ours(log_lines))  # query strings are never logged
    assert resp.headers["Docker-Content-Digest"] == digest


async def test_every_line_of_a_request_carries_its_id(
    make_client: MakeClient, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client()
    driver = client.app[context.DRIVER]
    assert isinstance(driver, InstrumentedDriver)

    async def broken(path: str) -> bytes:
        raise StorageError("disk on fire")

    monkeypatch.setattr(driver.inner, "get_content", broken)
    resp = await client.get("/v2/foo/manifests/latest", headers={"X-Request-Id": "boom-1"})
    assert resp.status == 500
    await eventually(lambda: len(access_entries(log_lines)) == 1)
    lines = ours(log_lines)
    assert len(lines) >= 2  # the error line and the access line
    assert {line["request_id"] for line in lines} == {"boom-1"}
    [error] = [line for line in lines if line["level"] == "error"]
    assert "disk on fire" in error["msg"]
    # A request that carries no id gets a generated one, echoed and logged alike.
    log_lines.truncate(0)
    log_lines.seek(0)
    resp = await client.get("/v2/")
    await eventually(lambda: len(access_entries(log_lines)) == 1)
    [entry] = access_entries(log_lines)
    assert entry["request_id"] == resp.headers["X-Request-Id"]
    assert len(entry["request_id"]) == 32


async def test_disabled_access_log_writes_nothing(
    make_client: MakeClient, log_lines: io.StringIO
) -> None:
    configure_logging(
        LogConfig(formatter="json", accesslog=AccessLogConfig(disabled=True)), stream=log_lines
    )
    client = await make_client()
    assert (await client.get("/v2/")).status == 200
    await client.close()  # the server finished every request
    assert access_entries(log_lines) == []


async def test_a_client_gone_mid_body_is_logged(
    fs_client: Client, log_lines: io.StringIO, tmp_path: Path
) -> None:
    """A response that fails after its headers went out still gets its access line."""
    data = b"y" * (4 << 20)
    digest = await push_blob(fs_client, "foo", data)
    log_lines.truncate(0)
    log_lines.seek(0)
    resp = await fs_client.get(f"/v2/foo/blobs/{digest}")
    assert resp.status == 200
    resp.close()  # hang up before reading the body
    await eventually(lambda: len(access_entries(log_lines)) == 1)
    [entry] = access_entries(log_lines)
    assert entry["status"] == 200
    assert entry["route"] == "blob"


async def test_requests_and_storage_calls_become_spans(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, log_lines: io.StringIO
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(app_module, "create_tracing", lambda: Tracing(provider))
    client = await make_client()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    resp = await client.get(
        "/v2/foo/manifests/v1", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    )
    assert resp.status == 404
    await client.close()  # flushes the tracer in the app's cleanup
    spans = exporter.get_finished_spans()
    [server] = [s for s in spans if s.name == "GET /v2/{name}/manifests/{reference}"]
    assert format(server.context.trace_id, "032x") == trace_id
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 404
    assert server.attributes["http.route"] == "/v2/{name}/manifests/{reference}"
    storage = [s for s in spans if s.name.startswith("storage.")]
    assert storage
    assert all(s.parent is not None and s.parent.span_id == server.context.span_id for s in storage)
    assert {s.attributes["storage.driver"] for s in storage if s.attributes} == {"inmemory"}
    [entry] = access_entries(log_lines)
    assert entry["trace_id"] == trace_id


async def test_counts_stay_right_past_the_label_cache(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client-chosen methods cannot grow the cache of labelled children without bound."""
    monkeypatch.setattr(instrumentation, "_MAX_CACHED_ROUTES", 1)
    for method in ("GET", "OPTIONS", "PUT", "GET", "OPTIONS", "PUT"):
        await client.request(method, "/v2/")
    sample = metrics_of(client).registry.get_sample_value
    assert sample(REQUESTS, {"handler": "base", "code": "200", "method": "GET"}) == 2
    assert sample(REQUESTS, {"handler": "base", "code": "405", "method": "OPTIONS"}) == 2
    assert sample(REQUESTS, {"handler": "base", "code": "405", "method": "PUT"}) == 2
    duration = "registry_http_request_duration_seconds_count"
    assert sample(duration, {"handler": "base", "method": "PUT"}) == 2


async def test_access_lines_written_directly_keep_their_fields(
    make_client: MakeClient, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With cargohold's handler alone on the root logger, the line skips ``logging``."""
    monkeypatch.setattr(logging.getLogger(ACCESS_LOGGER), "info", None)  # must not be called
    root = logging.getLogger()
    others = [h for h in root.handlers if h.get_name() != "cargohold"]
    for handler in others:
        root.removeHandler(handler)
    try:
        client = await make_client()
        resp = await client.head("/v2/foo/manifests/v1", headers={"User-Agent": "probe/1"})
        assert resp.status == 404
        await eventually(lambda: len(access_entries(log_lines)) == 1)
    finally:
        for handler in others:
            root.addHandler(handler)
    [entry] = access_entries(log_lines)
    assert list(entry) == [
        "time",
        "level",
        "msg",
        "request_id",
        "method",
        "path",
        "route",
        "repository",
        "status",
        "bytes",
        "request_bytes",
        "duration",
        "remote",
        "user_agent",
        "logger",
    ]
    assert entry["msg"] == '127.0.0.1 "HEAD /v2/foo/manifests/v1 HTTP/1.1" 404 0'
    assert entry["request_id"] == resp.headers["X-Request-Id"]
    assert (entry["route"], entry["repository"], entry["status"]) == ("manifest", "foo", 404)
    assert entry["user_agent"] == "probe/1"


async def test_refusals_of_inner_middleware_are_observed(
    make_client: MakeClient, log_lines: io.StringIO
) -> None:
    """The request middleware is outermost: the read-only guard's refusal is mapped, counted
    and logged under the request's id like any handler error."""
    client = await make_client(storage={"maintenance": {"readonly": {"enabled": True}}})
    resp = await client.post("/v2/foo/blobs/uploads/", headers={"X-Request-Id": "ro-1"})
    assert resp.status == 405
    assert resp.headers["X-Request-Id"] == "ro-1"
    assert (await resp.json())["errors"][0]["code"] == "UNSUPPORTED"
    sample = metrics_of(client).registry.get_sample_value
    await eventually(
        lambda: sample(REQUESTS, {"handler": "blob_upload", "code": "405", "method": "POST"}) == 1
    )
    assert metrics_of(client).total("registry_blob_uploads_failed_total") == 1
    [entry] = access_entries(log_lines)
    assert (entry["request_id"], entry["route"], entry["status"]) == ("ro-1", "blob_upload", 405)
