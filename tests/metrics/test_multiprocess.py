"""Multiprocess mode: forked processes' samples are merged in one exposition (in a subprocess,
since switching modes is process-wide)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client import CollectorRegistry

from cargohold.metrics import multiprocess

SCRIPT = textwrap.dedent(
    """
    import os, sys
    from cargohold.metrics import Metrics, multiprocess
    from cargohold.metrics import sample_total

    multiprocess.enable(sys.argv[1])
    assert multiprocess.enabled()
    pids = []
    for worker in range(3):
        pid = os.fork()
        if pid == 0:
            metrics = Metrics()
            metrics.http.requests.labels("base", "200", "GET").inc(worker + 1)
            metrics.http.in_flight.labels("base").inc()
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    merged = multiprocess.exposition_registry(Metrics().registry)
    print(float(sample_total(merged, "registry_http_requests_total", {"handler": "base"})))
    print(float(sample_total(merged, "registry_http_in_flight_requests", {})))
    for pid in pids:
        multiprocess.process_dead(pid)
    merged = multiprocess.exposition_registry(Metrics().registry)
    print(float(sample_total(merged, "registry_http_requests_total", {"handler": "base"})))
    print(float(sample_total(merged, "registry_http_in_flight_requests", {})))
    multiprocess.disable()
    own = Metrics()
    own.http.requests.labels("base", "200", "GET").inc()
    assert not multiprocess.enabled()
    assert multiprocess.exposition_registry(own.registry) is own.registry
    print(float(sample_total(own.registry, "registry_http_requests_total", {})))
    """
)


def test_workers_samples_are_merged_and_dead_workers_gauges_dropped(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # 1 + 2 + 3 requests; three in-flight gauges (livesum) until their processes are marked dead.
    # After disable(), new metrics are this process's own again.
    assert result.stdout.split() == ["6.0", "3.0", "6.0", "0.0", "1.0"]


def test_single_process_mode_serves_the_apps_own_registry() -> None:
    registry = CollectorRegistry()
    assert not multiprocess.enabled()
    assert multiprocess.exposition_registry(registry) is registry
    multiprocess.process_dead(12345)  # nothing to clean up; must not fail
