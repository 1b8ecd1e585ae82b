"""The workloads of issue 7, each a function from (bench, server, run index) to one Sample.

Blob transfers run in-process on :mod:`benchmarks.httpclient`; small requests run wrk or ab
(:mod:`benchmarks.loadgen`) at fixed concurrency for a fixed time. Any non-2xx answer to a blob
transfer raises, so their samples are error-free by construction.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from benchmarks import blobs
from benchmarks.context import Bench, RunFn, Sample, Target
from benchmarks.httpclient import Connection
from benchmarks.loadgen import run_load
from benchmarks.memory import memory_4g
from benchmarks.registries import tree_cpu_times
from benchmarks.seed import (
    PULL_REPO,
    SMALL_REPO,
    SMALL_TAG,
    TAGS_REPO,
    remove_blob,
)
from benchmarks.settings import GiB
from benchmarks.skopeo import skopeo_push_pull

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class Workload:
    """A named measurement: its unit, which way is better, its ceiling(s) and the issue's target."""

    name: str
    title: str
    unit: str
    higher_is_better: bool
    run: RunFn
    #: Ceiling keys (see :mod:`benchmarks.ceilings`); the first is the machine's bound.
    ceilings: tuple[str, ...] = ()
    #: The issue's target for cargohold/Distribution (advantage, so >1 means cargohold better).
    target: float | None = None
    #: One untimed run per server first: a server's first push runs cold (pools, buffers, code
    #: paths never taken yet), which a long-lived registry never is.
    warmup: bool = False


def _mbps(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e6


def blob_pull(bench: Bench, target: Target, run: int) -> Sample:
    seeded = target.seeded
    with bench.client_side(), Connection("127.0.0.1", target.port) as conn:
        started = time.perf_counter()
        moved = blobs.pull(conn, PULL_REPO, seeded.pull_digest, seeded.pull_size)
        return Sample(_mbps(moved, time.perf_counter() - started))


def blob_pull_range(bench: Bench, target: Target, run: int) -> Sample:
    seeded, size = target.seeded, bench.settings.range_size
    start, end = seeded.pull_size - size, seeded.pull_size - 1
    with bench.client_side(), Connection("127.0.0.1", target.port) as conn:
        started = time.perf_counter()
        moved = sum(
            blobs.pull_range(conn, PULL_REPO, seeded.pull_digest, start, end)
            for _ in range(bench.settings.range_repeats)
        )
        return Sample(_mbps(moved, time.perf_counter() - started))


def _push(bench: Bench, target: Target, chunked: bool) -> Sample:
    content = blobs.BlobContent(bench.settings.blob_size)  # fresh digest, hashed before timing
    repo = "bench/push"
    pid = target.registry.pid
    with bench.client_side(), Connection("127.0.0.1", target.port) as conn:
        user, system = tree_cpu_times(pid)
        started = time.perf_counter()
        if chunked:
            moved = blobs.push_chunked(conn, repo, content, bench.settings.chunk_size)
        else:
            moved = blobs.push_monolithic(conn, repo, content)
        elapsed = time.perf_counter() - started
        user_after, system_after = tree_cpu_times(pid)
    remove_blob(target.root, content.digest)
    os.sync()  # write-back of this run's blob must not land in the next run's timing
    # The server's CPU time per GiB received: what the disk's mood cannot change. The system
    # part is where this VM's page cache shows (new pages the host must fault in).
    user, system = user_after - user, system_after - system
    return Sample(
        _mbps(moved, elapsed),
        extra={
            "server_cpu_s_per_gib": (user + system) * GiB / moved,
            "server_sys_s_per_gib": system * GiB / moved,
        },
    )


def blob_push_monolithic(bench: Bench, target: Target, run: int) -> Sample:
    return _push(bench, target, chunked=False)


def blob_push_chunked(bench: Bench, target: Target, run: int) -> Sample:
    return _push(bench, target, chunked=True)


def blob_pull_fresh(bench: Bench, target: Target, run: int) -> Sample:
    """GET of a 1 GiB blob pushed just before (untimed): what a CI runner pulling a layer its
    build pushed sees. A server whose push bypassed the page cache reads it from disk."""
    content = blobs.BlobContent(bench.settings.blob_size)
    repo = "bench/fresh"
    with bench.client_side(), Connection("127.0.0.1", target.port) as conn:
        blobs.push_monolithic(conn, repo, content)
        started = time.perf_counter()
        moved = blobs.pull(conn, repo, content.digest, content.size)
        elapsed = time.perf_counter() - started
    remove_blob(target.root, content.digest)
    os.sync()
    return Sample(_mbps(moved, elapsed))


def _small(method: str, path: str, headers: dict[str, str] | None = None) -> RunFn:
    def run(bench: Bench, target: Target, index: int) -> Sample:
        resolved = path.format(seed=target.seeded, tag=SMALL_TAG, n=bench.settings.catalog_page)
        if bench.settings.small_warmup > 0:
            run_load(
                target.url + resolved,
                method,
                headers or {},
                duration=bench.settings.small_warmup,
                connections=bench.settings.small_concurrency,
                pinned=bench.pinned,
            )
        result = run_load(
            target.url + resolved,
            method,
            headers or {},
            duration=bench.settings.small_duration,
            connections=bench.settings.small_concurrency,
            pinned=bench.pinned,
        )
        return Sample(
            result.rps,
            non2xx=result.non2xx,
            errors=result.socket_errors,
            extra={"p50_ms": result.p50_ms, "p99_ms": result.p99_ms, "requests": result.requests},
        )

    return run


_ACCEPT = {"Accept": OCI_MANIFEST}
_STATIC_GET = ("static-nginx-GET", "static-aiohttp-GET")
_STATIC_HEAD = ("static-nginx-HEAD", "static-aiohttp-HEAD")
#: A push must write every byte durably and hash it: the disk's direct-write rate and SHA-256 on
#: one core bound it; the page cache's write rate bounds a push that goes through it.
_PUSH_CEILINGS = ("durable-write", "sha256", "page-cache-write")

WORKLOADS: tuple[Workload, ...] = (
    Workload("blob-pull", "Blob pull, GET 1 GiB", "MB/s", True, blob_pull, ("sendfile",), 1.0),
    Workload(
        "blob-pull-range",
        "Blob pull, Range: last 64 MiB",
        "MB/s",
        True,
        blob_pull_range,
        ("sendfile-range",),
        1.0,
    ),
    Workload(
        "blob-pull-fresh",
        "Blob pull, GET 1 GiB just pushed",
        "MB/s",
        True,
        blob_pull_fresh,
        warmup=True,
    ),
    Workload(
        "blob-push-monolithic",
        "Blob push, POST+PUT 1 GiB",
        "MB/s",
        True,
        blob_push_monolithic,
        _PUSH_CEILINGS,
        4.0,
        warmup=True,
    ),
    Workload(
        "blob-push-chunked",
        "Blob push, PATCH 16 MiB chunks, 1 GiB",
        "MB/s",
        True,
        blob_push_chunked,
        _PUSH_CEILINGS,
        4.0,
        warmup=True,
    ),
    Workload(
        "head-blob",
        "HEAD blob",
        "req/s",
        True,
        _small("HEAD", f"/v2/{SMALL_REPO}/blobs/{{seed.layer_digest}}"),
        _STATIC_HEAD,
        3.0,
    ),
    Workload(
        "get-manifest-tag",
        "GET manifest by tag",
        "req/s",
        True,
        _small("GET", f"/v2/{SMALL_REPO}/manifests/{{tag}}", _ACCEPT),
        _STATIC_GET,
        3.0,
    ),
    Workload(
        "head-manifest-digest",
        "HEAD manifest by digest",
        "req/s",
        True,
        _small("HEAD", f"/v2/{SMALL_REPO}/manifests/{{seed.manifest_digest}}", _ACCEPT),
        _STATIC_HEAD,
        3.0,
    ),
    Workload(
        "tags-list",
        "Tags list, 1,000 tags",
        "req/s",
        True,
        _small("GET", f"/v2/{TAGS_REPO}/tags/list"),
        _STATIC_GET,
        3.0,
    ),
    Workload(
        "catalog-page",
        "Catalog page, n=100 of 10,000 repositories",
        "req/s",
        True,
        _small("GET", "/v2/_catalog?n={n}"),
        _STATIC_GET,
        10.0,
    ),
    Workload(
        "skopeo-push-pull",
        "skopeo push + pull, multi-layer image",
        "s",
        False,
        skopeo_push_pull,
    ),
    Workload(
        "memory-4g",
        "Peak RSS, push + pull of a 4 GiB blob",
        "MiB",
        False,
        memory_4g,
    ),
)

BY_NAME = {w.name: w for w in WORKLOADS}
