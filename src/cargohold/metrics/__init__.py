"""Prometheus collectors, all defined in one module (:mod:`cargohold.metrics.collectors`)."""

from cargohold.metrics.collectors import (
    NAMESPACE,
    REDIS_LATENCY_BUCKETS,
    CacheMetrics,
    Metrics,
    RedisMetrics,
    sample_total,
)

__all__ = [
    "NAMESPACE",
    "REDIS_LATENCY_BUCKETS",
    "CacheMetrics",
    "Metrics",
    "RedisMetrics",
    "sample_total",
]
