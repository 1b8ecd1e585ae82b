"""Prometheus collectors, all defined in one module (:mod:`cargohold.metrics.collectors`)."""

from cargohold.metrics.collectors import (
    HTTP_DURATION_BUCKETS,
    HTTP_SIZE_BUCKETS,
    NAMESPACE,
    REDIS_LATENCY_BUCKETS,
    STORAGE_ACTION_BUCKETS,
    BlobMetrics,
    CacheMetrics,
    HTTPMetrics,
    Metrics,
    RedisMetrics,
    StorageMetrics,
    sample_total,
)

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
