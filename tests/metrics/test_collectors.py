"""Names, labels and buckets of the HTTP, storage and blob collectors follow Distribution's."""

from __future__ import annotations

from prometheus_client import generate_latest

from cargohold.metrics import (
    HTTP_DURATION_BUCKETS,
    HTTP_SIZE_BUCKETS,
    STORAGE_ACTION_BUCKETS,
    Metrics,
)


def test_http_collectors_use_go_metrics_names_and_labels() -> None:
    metrics = Metrics()
    metrics.http.requests.labels("blob", "200", "GET").inc()
    metrics.http.duration.labels("blob", "GET").observe(0.2)
    metrics.http.request_size.labels("blob").observe(0)
    metrics.http.response_size.labels("blob").observe(3000)
    metrics.http.in_flight.labels("blob").inc()
    sample = metrics.registry.get_sample_value
    labels = {"handler": "blob", "code": "200", "method": "GET"}
    assert sample("registry_http_requests_total", labels) == 1
    assert (
        sample("registry_http_request_duration_seconds_count", {"handler": "blob", "method": "GET"})
        == 1
    )
    assert sample("registry_http_request_size_bytes_count", {"handler": "blob"}) == 1
    assert sample("registry_http_response_size_bytes_sum", {"handler": "blob"}) == 3000
    assert sample("registry_http_in_flight_requests", {"handler": "blob"}) == 1


def test_buckets() -> None:
    # go-metrics: latency up to 60s, sizes 1 KiB doubling 22 times.
    assert HTTP_DURATION_BUCKETS[0] == 0.005
    assert HTTP_DURATION_BUCKETS[-1] == 60
    assert HTTP_SIZE_BUCKETS[0] == 1024
    assert len(HTTP_SIZE_BUCKETS) == 22
    assert HTTP_SIZE_BUCKETS[-1] == 1024 * 2**21
    # Go's default buckets all present, finer ones below them.
    assert {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0} <= set(
        STORAGE_ACTION_BUCKETS
    )
    assert list(STORAGE_ACTION_BUCKETS) == sorted(STORAGE_ACTION_BUCKETS)
    assert STORAGE_ACTION_BUCKETS[0] < 0.001


def test_storage_action_histogram() -> None:
    metrics = Metrics()
    metrics.storage.action.labels("filesystem", "Stat").observe(0.0002)
    text = generate_latest(metrics.registry).decode()
    assert (
        'registry_storage_action_seconds_bucket{action="Stat",driver="filesystem",le="0.00025"} 1.0'
        in text
    )
    assert (
        'registry_storage_action_seconds_bucket{action="Stat",driver="filesystem",le="0.0001"} 0.0'
        in text
    )


def test_blob_counters() -> None:
    metrics = Metrics()
    metrics.blob.uploads_started.inc()
    metrics.blob.uploads_completed.inc()
    metrics.blob.uploads_failed.inc(2)
    metrics.blob.pushed_bytes.inc(10)
    metrics.blob.pulled_bytes.inc(20)
    assert {
        name: metrics.total(f"registry_blob_{name}_total")
        for name in (
            "uploads_started",
            "uploads_completed",
            "uploads_failed",
            "pushed_bytes",
            "pulled_bytes",
        )
    } == {
        "uploads_started": 1,
        "uploads_completed": 1,
        "uploads_failed": 2,
        "pushed_bytes": 10,
        "pulled_bytes": 20,
    }


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.http.requests.labels("base", "200", "GET").inc()
    assert first.total("registry_http_requests_total") == 1
    assert second.total("registry_http_requests_total") == 0
    assert first.total("registry_http_requests_total", handler="blob") == 0
