"""Peak resident memory of a registry while it takes and serves one large blob.

Each sample starts a fresh server on an empty root, so VmHWM and the sampled RSS of its process
tree reflect this transfer alone. A streaming server's peak stays near its idle footprint
whatever the blob's size; one that buffers grows with it.
"""

from __future__ import annotations

import time

from benchmarks import blobs
from benchmarks.context import Bench, Sample, Target
from benchmarks.httpclient import Connection
from benchmarks.registries import RssSampler, tree_hwm_kib, tree_rss_kib

_REPO = "bench/memory"


def memory_4g(bench: Bench, target: Target, run: int) -> Sample:
    """Peak RSS (MiB) over a monolithic push then a pull of ``memory_blob_size`` bytes."""
    content = blobs.BlobContent(bench.settings.memory_blob_size)
    with bench.fresh_registry(target.kind) as registry:
        pid = registry.pid
        idle = tree_rss_kib(pid)
        with bench.client_side(), Connection("127.0.0.1", registry.port) as conn:
            with RssSampler(pid) as push_rss:
                started = time.perf_counter()
                blobs.push_monolithic(conn, _REPO, content)
                push_seconds = time.perf_counter() - started
            with RssSampler(pid) as pull_rss:
                started = time.perf_counter()
                blobs.pull(conn, _REPO, content.digest, content.size)
                pull_seconds = time.perf_counter() - started
        peak = max(push_rss.peak_kib, pull_rss.peak_kib, tree_hwm_kib(pid))
    return Sample(
        peak / 1024,
        extra={
            "idle_mib": idle / 1024,
            "push_peak_mib": push_rss.peak_kib / 1024,
            "pull_peak_mib": pull_rss.peak_kib / 1024,
            "push_mbps": content.size / push_seconds / 1e6,
            "pull_mbps": content.size / pull_seconds / 1e6,
        },
    )
