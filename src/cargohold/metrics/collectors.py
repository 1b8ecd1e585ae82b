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
- ``registry_redis_pool_connections{state="in_use|idle"}`` and ``registry_redis_circuit_open``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
    "NAMESPACE",
    "REDIS_LATENCY_BUCKETS",
    "CacheMetrics",
    "Metrics",
    "RedisMetrics",
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
        )
        self.circuit_open = Gauge(
            "circuit_open",
            "1 while the Redis circuit breaker is skipping Redis, else 0",
            namespace=NAMESPACE,
            subsystem="redis",
            registry=registry,
        )
        self.circuit_trips = Counter(
            "circuit_trips",
            "The number of times the Redis circuit breaker opened",
            namespace=NAMESPACE,
            subsystem="redis",
            registry=registry,
        )


class Metrics:
    """All collectors of one application, registered in ``registry`` (a fresh one by default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.cache = CacheMetrics(self.registry)
        self.redis = RedisMetrics(self.registry)
