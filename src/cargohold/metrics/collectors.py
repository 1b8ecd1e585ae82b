"""Every Prometheus collector cargohold exports, defined here and nowhere else.

Collectors live in a :class:`Metrics` object over a ``CollectorRegistry`` the application owns
(``create_app`` builds one and serves ``metrics.registry``), so nothing is registered at import
time and each test can build its own. Names follow CNCF Distribution, whose metrics all live in
the ``registry`` namespace (``registry/metrics/prometheus.go``):

- ``registry_storage_cache_{requests,hits,misses}_total{cache}`` and
  ``registry_storage_cache_errors_total{cache,operation}``: Distribution 3's counters plus the
  label of the cache type (Distribution 3 has no misses counter; ours counts genuine misses only,
  and ``requests == hits + misses + errors{operation="stat"}``);
- ``registry_storage_cache_total{type="Request|Hit|Miss|Error"}``: Distribution 2.x's single
  labelled counter, kept so registry:2 dashboards keep working;
- ``registry_storage_cache_redis_seconds{operation}``: Distribution's Redis timer, one
  observation per pipelined round trip, with buckets that start at 50 µs (Distribution's default
  buckets start at 5 ms, where every Redis call lands in the first bucket);
- ``registry_redis_pool_connections{state="in_use|idle"}`` and ``registry_redis_circuit_open``;
- ``registry_http_requests_total{handler,code,method}``,
  ``registry_http_request_duration_seconds{handler,method}``,
  ``registry_http_request_size_bytes{handler}``, ``registry_http_response_size_bytes{handler}`` and
  ``registry_http_in_flight_requests{handler}``: the set docker/go-metrics' ``InstrumentHandler``
  gives each Distribution route (``handler`` is the route name with ``-`` as ``_``: ``base``,
  ``blob``, ``blob_upload``, ``blob_upload_chunk``, ``manifest``, ``tags``, ``catalog``, plus our
  ``referrers``), with go-metrics' buckets;
- ``registry_storage_action_seconds{driver,action}``: Distribution's driver timer (``GetContent``,
  ``PutContent``, ``Reader``, ``Writer``, ``Stat``, ``List``, ``Move``, ``Delete``, ``URLFor``),
  with sub-millisecond buckets added below Go's defaults, where local disks answer;
- ``registry_blob_uploads_{started,completed,failed}_total`` and
  ``registry_blob_{pushed,pulled}_bytes_total``: cargohold's own, Distribution has none.

Gauges name their multi-process aggregation (``multiprocess_mode``), used only when
``PROMETHEUS_MULTIPROC_DIR`` is set (see :mod:`cargohold.metrics.multiprocess`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
    "HTTP_DURATION_BUCKETS",
    "HTTP_SIZE_BUCKETS",
    "NAMESPACE",
    "REDIS_LATENCY_BUCKETS",
    "STORAGE_ACTION_BUCKETS",
    "BlobMetrics",
    "CacheMetrics",
    "HTTPMetrics",
    "Metrics",
    "RedisMetrics",
    "StorageMetrics",
    "sample_total",
]

NAMESPACE: Final = "registry"
_STORAGE: Final = "storage"

#: Seconds; a local Redis answers in 50-500 µs, a remote one in a few ms, a sick one in 100 ms+.
REDIS_LATENCY_BUCKETS: Final = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)

#: docker/go-metrics' HTTP latency buckets, so Distribution's dashboards read ours unchanged.
HTTP_DURATION_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60)
#: docker/go-metrics' size buckets: 1 KiB doubling up to 2 GiB (22 buckets).
HTTP_SIZE_BUCKETS: Final = tuple(float(1024 * 2**i) for i in range(22))
#: Go's default buckets (Distribution's timer) with sub-millisecond ones for local disks.
STORAGE_ACTION_BUCKETS: Final = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class CacheMetrics:
    """Blob descriptor cache outcomes, recorded by ``CachedBlobStatter`` (per cache type)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(
                name, doc, labels, namespace=NAMESPACE, subsystem=_STORAGE, registry=registry
            )

        self.requests = counter("cache_requests", "The number of cache requests received", "cache")
        self.hits = counter(
            "cache_hits", "The number of cache requests answered by the cache", "cache"
        )
        self.misses = counter(
            "cache_misses", "The number of cache requests for descriptors not cached", "cache"
        )
        # `operation` is stat (a request that fell back to storage), set_descriptor or clear.
        self.errors = counter(
            "cache_errors", "The number of failed cache calls", "cache", "operation"
        )
        # Distribution 2.x: one counter, outcome in `type` (Request, Hit, Miss; we add Error).
        self.legacy = counter("cache", "The number of cache request received", "type")

    def total(self, outcome: str, **labels: str) -> float:
        """Sum of ``registry_storage_cache_<outcome>_total`` over series matching ``labels``."""
        return sample_total(self.registry, f"{NAMESPACE}_{_STORAGE}_cache_{outcome}_total", labels)


def sample_total(registry: CollectorRegistry, name: str, labels: Mapping[str, str]) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels`` (0 if none)."""
    return sum(
        sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


class RedisMetrics:
    """Redis round-trip latency, pool occupancy and circuit breaker state."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.latency = Histogram(
            "cache_redis",
            "Number of seconds taken by redis",
            ["operation"],
            namespace=NAMESPACE,
            subsystem=_STORAGE,
            unit="seconds",
            buckets=REDIS_LATENCY_BUCKETS,
            registry=registry,
        )
        self.pool_connections = Gauge(
            "pool_connections",
            "Redis connections held by the pool, by state",
            ["state"],
            namespace=NAMESPACE,
            subsystem="redis",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.circuit_open = Gauge(
            "circuit_open",
            "1 while the Redis circuit breaker is skipping Redis, else 0",
            namespace=NAMESPACE,
            subsystem="redis",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.circuit_trips = Counter(
            "circuit_trips",
            "The number of times the Redis circuit breaker opened",
            namespace=NAMESPACE,
            subsystem="redis",
            registry=registry,
        )


class HTTPMetrics:
    """Per-route request counts, latency, sizes and in-flight requests (Distribution's names)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def histogram(
            name: str, doc: str, labels: list[str], buckets: tuple[float, ...]
        ) -> Histogram:
            return Histogram(
                name,
                doc,
                labels,
                namespace=NAMESPACE,
                subsystem="http",
                buckets=buckets,
                registry=registry,
            )

        self.requests = Counter(
            "requests",
            "Total number of HTTP requests made.",
            ["handler", "code", "method"],
            namespace=NAMESPACE,
            subsystem="http",
            registry=registry,
        )
        self.duration = histogram(
            "request_duration_seconds",
            "The HTTP request latencies in seconds.",
            ["handler", "method"],
            HTTP_DURATION_BUCKETS,
        )
        self.request_size = histogram(
            "request_size_bytes",
            "The HTTP request sizes in bytes.",
            ["handler"],
            HTTP_SIZE_BUCKETS,
        )
        self.response_size = histogram(
            "response_size_bytes",
            "The HTTP response sizes in bytes.",
            ["handler"],
            HTTP_SIZE_BUCKETS,
        )
        self.in_flight = Gauge(
            "in_flight_requests",
            "The in-flight HTTP requests",
            ["handler"],
            namespace=NAMESPACE,
            subsystem="http",
            registry=registry,
            multiprocess_mode="livesum",
        )


class StorageMetrics:
    """Storage driver call latency, recorded by the instrumented driver wrapper."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.action = Histogram(
            "action",
            "The number of seconds that the storage action takes",
            ["driver", "action"],
            namespace=NAMESPACE,
            subsystem=_STORAGE,
            unit="seconds",
            buckets=STORAGE_ACTION_BUCKETS,
            registry=registry,
        )


class BlobMetrics:
    """Blob upload outcomes and blob bytes moved, recorded by the HTTP instrumentation."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, namespace=NAMESPACE, subsystem="blob", registry=registry)

        self.uploads_started = counter("uploads_started", "Blob uploads started")
        self.uploads_completed = counter(
            "uploads_completed", "Blob uploads committed (monolithic or chunked)"
        )
        self.uploads_failed = counter(
            "uploads_failed", "Blob upload requests (POST, PATCH, PUT) answered with an error"
        )
        self.pushed_bytes = counter("pushed_bytes", "Blob bytes received in upload requests")
        self.pulled_bytes = counter("pulled_bytes", "Blob bytes sent in full or ranged GETs")


class Metrics:
    """All collectors of one application, registered in ``registry`` (a fresh one by default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.cache = CacheMetrics(self.registry)
        self.redis = RedisMetrics(self.registry)
        self.http = HTTPMetrics(self.registry)
        self.storage = StorageMetrics(self.registry)
        self.blob = BlobMetrics(self.registry)

    def total(self, name: str, **labels: str) -> float:
        """Sum of the samples called ``name`` whose labels include ``labels`` (0 if none)."""
        return sample_total(self.registry, name, labels)
