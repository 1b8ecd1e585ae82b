"""Operations against a real ``cargohold serve``: metrics, health, logs, draining, read-only mode."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cargohold.testing.redis_server import RedisServer
from cargohold.testing.servers import (
    LOOPBACK,
    RegistryProcess,
    cargohold_command,
    cargohold_config,
    free_port,
)
from tests.integration.clients import http as request

pytestmark = pytest.mark.integration

# Root without the capabilities that let it ignore file modes, so chmod bites as for any user.
_NO_DAC_OVERRIDE = [
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
]


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and key in out else value
    return out


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., RegistryProcess]]:
    """Start ``cargohold serve`` on ``tmp_path/root`` with config ``extra``; stopped at teardown."""
    started: list[RegistryProcess] = []

    def start(
        extra: dict[str, Any], *, prefix: list[str] | None = None, name: str = "cargohold"
    ) -> RegistryProcess:
        port = free_port()
        workdir = tmp_path / f"{name}-{len(started)}"
        config = merge(cargohold_config(tmp_path / "root", port), extra)
        command = [*(prefix or []), *cargohold_command(workdir / "config.yml")]
        process = RegistryProcess(name, command, config, workdir, port)
        started.append(process)
        process.start()
        return process

    yield start
    for process in reversed(started):
        process.stop()


def debug_section(port: int) -> dict[str, Any]:
    return {"addr": f"{LOOPBACK}:{port}", "prometheus": {"enabled": True}}


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the debug server's /metrics, keyed by name and labels."""
    text = request("GET", f"http://{LOOPBACK}:{port}/metrics").body.decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def log_lines(process: RegistryProcess) -> list[dict[str, Any]]:
    lines = process.log_path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def wait_until(check: Callable[[], bool]) -> None:
    for _ in range(2000):
        if check():
            return
        time.sleep(0.01)
    assert check()


def test_metrics_move_with_real_traffic_across_workers(
    serve: Callable[..., RegistryProcess],
) -> None:
    debug = free_port()
    registry = serve({"http": {"workers": 2, "debug": debug_section(debug)}})
    before = scrape(debug)
    blob = os.urandom(300_000)
    for _ in range(5):
        assert request("GET", f"{registry.url}/v2/").status == 200
    resp = request("POST", f"{registry.url}/v2/ops/blobs/uploads/?digest={sha256(blob)}", body=blob)
    assert resp.status == 201
    assert request("GET", f"{registry.url}/v2/ops/blobs/{sha256(blob)}").body == blob
    assert request("GET", f"{registry.url}/v2/ops/manifests/missing").status == 404
    wait_until(
        lambda: (
            value(
                scrape(debug),
                "registry_http_requests_total",
                handler="manifest",
                code="404",
                method="GET",
            )
            == 1
        )
    )
    after = scrape(debug)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Whichever worker served a request, one scrape sees all of them.
    assert delta("registry_http_requests_total", handler="base", code="200", method="GET") == 5
    assert (
        delta("registry_http_requests_total", handler="blob_upload", code="201", method="POST") == 1
    )
    assert delta("registry_http_requests_total", handler="blob", code="200", method="GET") == 1
    assert delta("registry_http_request_duration_seconds_count", handler="base", method="GET") == 5
    assert delta("registry_http_request_size_bytes_sum", handler="blob_upload") == len(blob)
    assert delta("registry_http_response_size_bytes_sum", handler="blob") == len(blob)
    assert value(after, "registry_http_in_flight_requests", handler="blob") == 0
    assert delta("registry_blob_uploads_started_total") == 1
    assert delta("registry_blob_uploads_completed_total") == 1
    assert delta("registry_blob_pushed_bytes_total") == len(blob)
    assert delta("registry_blob_pulled_bytes_total") == len(blob)
    for action in ("PutContent", "Writer", "Move", "Stat"):
        labels = {"driver": "filesystem", "action": action}
        assert delta("registry_storage_action_seconds_count", **labels) > 0, action
    assert registry.stop() == 0


def test_json_logs_carry_the_request_id(serve: Callable[..., RegistryProcess]) -> None:
    registry = serve(
        {"log": {"formatter": "json", "fields": {"service": "ops"}}, "http": {"workers": 1}}
    )
    resp = request(
        "GET", f"{registry.url}/v2/team/app/manifests/v9", headers={"X-Request-Id": "ops-123"}
    )
    assert resp.status == 404
    assert resp.headers["X-Request-Id"] == "ops-123"
    assert registry.stop() == 0
    [access] = [line for line in log_lines(registry) if line.get("request_id") == "ops-123"]
    assert access["logger"] == "cargohold.access"
    assert (access["method"], access["route"], access["repository"]) == (
        "GET",
        "manifest",
        "team/app",
    )
    assert access["status"] == 404
    assert access["bytes"] == len(resp.body)
    assert access["service"] == "ops"
    assert list(access)[:3] == ["time", "level", "msg"]


def test_secrets_are_never_logged(serve: Callable[..., RegistryProcess], tmp_path: Path) -> None:
    with RedisServer(tmp_path / "redis", args=("--requirepass", "redis-pa55word")) as redis:
        registry = serve(
            {
                "log": {"level": "debug", "formatter": "json"},
                "http": {"secret": "http-s3cret-value", "workers": 1},
                "storage": {"cache": {"blobdescriptor": "redis"}},
                "redis": {"addr": redis.addr, "password": "redis-pa55word"},
            }
        )
        blob = b"secret-test"
        resp = request(
            "POST",
            f"{registry.url}/v2/s/blobs/uploads/?digest={sha256(blob)}",
            body=blob,
            headers={"Authorization": "Basic dXNlcjpzM2NyZXQ="},
        )
        assert resp.status == 201
        assert request("HEAD", f"{registry.url}/v2/s/blobs/{sha256(blob)}").status == 200
        assert registry.stop() == 0
    text = registry.log_path.read_text()
    assert "request_id" in text  # debug logging did write lines
    for secret in ("redis-pa55word", "http-s3cret-value", "dXNlcjpzM2NyZXQ="):
        assert secret not in text


def _stream_put(
    url: str, path: str, chunks: Iterator[bytes], size: int
) -> tuple[int, dict[str, str]]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("PUT", path, body=chunks, headers={"Content-Length": str(size)})
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.headers)
    finally:
        connection.close()


def test_sigterm_during_a_large_upload_lets_it_finish(
    serve: Callable[..., RegistryProcess], tmp_path: Path
) -> None:
    registry = serve({"http": {"workers": 2, "draintimeout": "60s"}, "log": {"formatter": "json"}})
    resp = request("POST", f"{registry.url}/v2/big/blobs/uploads/")
    assert resp.status == 202
    location = resp.headers["Location"].removeprefix(registry.url)
    chunk = os.urandom(1 << 20)
    count = 48
    blob_digest = sha256(chunk * count)
    half_sent, go_on = threading.Event(), threading.Event()

    def body() -> Iterator[bytes]:
        for n in range(count):
            if n == count // 2:
                half_sent.set()
                assert go_on.wait(60)
            yield chunk

    result: list[tuple[int, dict[str, str]]] = []
    uploader = threading.Thread(
        target=lambda: result.append(
            _stream_put(
                registry.url, f"{location}?digest={blob_digest}", body(), count * len(chunk)
            )
        )
    )
    uploader.start()
    assert half_sent.wait(60)
    assert registry._process is not None
    registry._process.send_signal(signal.SIGTERM)
    wait_until(lambda: any("stopping: draining" in line["msg"] for line in log_lines(registry)))
    # Workers stop accepting (once they got the signal) while the upload is still in flight.
    wait_until(lambda: request_refused(registry.url))
    assert not result
    go_on.set()
    uploader.join(60)
    [(status, headers)] = result
    assert status == 201
    assert headers["Docker-Content-Digest"] == blob_digest
    assert registry._process.wait(60) == 0
    hexdigest = blob_digest.removeprefix("sha256:")
    data = tmp_path / "root/docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"
    assert sha256(data.read_bytes()) == blob_digest


def request_refused(url: str) -> bool:
    try:
        request("GET", f"{url}/v2/")
    except OSError:
        return True
    return False


def test_health_turns_red_when_the_root_becomes_unreadable_and_green_again(
    serve: Callable[..., RegistryProcess], tmp_path: Path
) -> None:
    debug = free_port()
    root = tmp_path / "root"
    registry = serve(
        {
            "http": {"workers": 1, "debug": debug_section(debug)},
            "health": {"storagedriver": {"enabled": True, "interval": "50ms", "threshold": 2}},
        },
        prefix=_NO_DAC_OVERRIDE if os.geteuid() == 0 else None,
    )
    blob = b"health"
    assert (
        request(
            "POST", f"{registry.url}/v2/h/blobs/uploads/?digest={sha256(blob)}", body=blob
        ).status
        == 201
    )
    health_url = f"http://{LOOPBACK}:{debug}/debug/health"
    assert request("GET", health_url).json() == {}
    root.chmod(0)
    try:
        wait_until(lambda: request("GET", health_url).status == 503)
        report = request("GET", health_url).json()
        assert list(report) == ["storagedriver_filesystem"]
        assert "Permission denied" in report["storagedriver_filesystem"]
        resp = request("GET", f"{registry.url}/v2/")
        assert resp.status == 503
        assert resp.json()["errors"][0]["code"] == "UNAVAILABLE"
        assert request("GET", f"{registry.url}/").status == 503
    finally:
        root.chmod(0o755)
    wait_until(lambda: request("GET", health_url).status == 200)
    assert request("GET", f"{registry.url}/v2/h/blobs/{sha256(blob)}").body == blob
    assert registry.stop() == 0


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
    }


def test_read_only_refuses_every_write_path_and_writes_nothing(
    serve: Callable[..., RegistryProcess], tmp_path: Path
) -> None:
    writer = serve({"http": {"workers": 1}})
    config, layer = b'{"c":1}', b"layer"
    for data in (config, layer):
        assert (
            request(
                "POST", f"{writer.url}/v2/ro/blobs/uploads/?digest={sha256(data)}", body=data
            ).status
            == 201
        )
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha256(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
    assert (
        request("PUT", f"{writer.url}/v2/ro/manifests/v1", body=manifest, headers=headers).status
        == 201
    )
    session = (
        request("POST", f"{writer.url}/v2/ro/blobs/uploads/").headers["Location"].rsplit("/", 1)[1]
    )
    assert writer.stop() == 0
    # An upload abandoned long ago: purging would remove it, were it not read-only.
    started_at = (
        tmp_path / "root/docker/registry/v2/repositories/ro/_uploads" / session / "startedat"
    )
    started_at.write_text("2000-01-01T00:00:00Z")
    root = tmp_path / "root"
    snapshot = tree(root)
    reader = serve(
        {
            "http": {"workers": 2},
            "storage": {
                "maintenance": {
                    "readonly": {"enabled": True},
                    "uploadpurging": {"enabled": True, "age": "1h", "interval": "1s"},
                }
            },
        },
        name="readonly",
    )
    digest = sha256(layer)
    writes = [
        ("POST", "/v2/ro/blobs/uploads/", b""),
        ("POST", f"/v2/ro/blobs/uploads/?digest={sha256(b'new')}", b"new"),
        ("POST", f"/v2/other/blobs/uploads/?mount={digest}&from=ro", b""),
        ("PATCH", f"/v2/ro/blobs/uploads/{session}", b"more"),
        ("PUT", f"/v2/ro/blobs/uploads/{session}?digest={sha256(b'x')}", b"x"),
        ("DELETE", f"/v2/ro/blobs/uploads/{session}", b""),
        ("PUT", "/v2/ro/manifests/v2", manifest),
        ("DELETE", "/v2/ro/manifests/v1", b""),
        ("DELETE", f"/v2/ro/manifests/{sha256(manifest)}", b""),
        ("DELETE", f"/v2/ro/blobs/{digest}", b""),
    ]
    for method, path, body in writes:
        resp = request(method, f"{reader.url}{path}", body=body or None, headers=headers)
        assert resp.status == 405, (method, path, resp.body)
        assert resp.json()["errors"][0]["code"] == "UNSUPPORTED"
    assert request("GET", f"{reader.url}/v2/ro/blobs/{digest}").body == layer
    assert (
        request(
            "GET", f"{reader.url}/v2/ro/manifests/v1", headers={"Accept": headers["Content-Type"]}
        ).status
        == 200
    )
    time.sleep(1.5)  # past a purge interval
    assert reader.stop() == 0
    assert tree(root) == snapshot
