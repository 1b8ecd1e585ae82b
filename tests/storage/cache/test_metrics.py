"""The cache's Prometheus names are CNCF Distribution's, and each Metrics object is isolated."""

from __future__ import annotations

from prometheus_client import generate_latest

from cargohold.metrics import REDIS_LATENCY_BUCKETS, Metrics
from cargohold.storage.cache.stats import CacheStats


def exposition(metrics: Metrics) -> str:
    return generate_latest(metrics.registry).decode()


def test_counters_use_distribution_names_3_and_2() -> None:
    metrics = Metrics()
    stats = CacheStats(metrics.cache, "redis")
    stats.request()
    stats.hit()
    stats.request()
    stats.miss()
    stats.request()
    stats.error("stat", RuntimeError("x"))
    stats.error("set_descriptor", RuntimeError("x"))
    sample = metrics.registry.get_sample_value
    # Distribution 3: registry_storage_cache_{requests,hits,errors}_total (and our misses).
    assert sample("registry_storage_cache_requests_total", {"cache": "redis"}) == 3
    assert sample("registry_storage_cache_hits_total", {"cache": "redis"}) == 1
    assert sample("registry_storage_cache_misses_total", {"cache": "redis"}) == 1
    errors = "registry_storage_cache_errors_total"
    assert sample(errors, {"cache": "redis", "operation": "stat"}) == 1
    assert sample(errors, {"cache": "redis", "operation": "set_descriptor"}) == 1
    # Distribution 2.x: registry_storage_cache_total{type=...}.
    legacy = {
        t: sample("registry_storage_cache_total", {"type": t})
        for t in ("Request", "Hit", "Miss", "Error")
    }
    assert legacy == {"Request": 3, "Hit": 1, "Miss": 1, "Error": 1}
    assert (stats.requests, stats.hits, stats.misses, stats.errors) == (3, 1, 1, 2)


def test_redis_latency_buckets_start_well_below_a_millisecond() -> None:
    assert REDIS_LATENCY_BUCKETS[0] <= 0.0001
    assert sum(1 for b in REDIS_LATENCY_BUCKETS if b < 0.001) >= 4
    metrics = Metrics()
    metrics.redis.latency.labels("RepoStat").observe(0.0002)
    text = exposition(metrics)
    assert (
        'registry_storage_cache_redis_seconds_bucket{le="0.0001",operation="RepoStat"} 0.0' in text
    )
    assert (
        'registry_storage_cache_redis_seconds_bucket{le="0.00025",operation="RepoStat"} 1.0' in text
    )


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    CacheStats(first.cache, "inmemory").request()
    assert first.cache.total("requests") == 1
    assert second.cache.total("requests") == 0
    assert "registry_redis_circuit_open" in exposition(second)
    assert "registry_redis_pool_connections" in exposition(second)


def test_stats_without_metrics_count_privately() -> None:
    stats = CacheStats()
    stats.request()
    stats.miss()
    assert (stats.requests, stats.misses) == (1, 1)
    assert CacheStats().requests == 0
