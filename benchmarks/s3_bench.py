"""cargohold and CNCF Distribution on one S3 server (SeaweedFS): ``python -m benchmarks.s3_bench``.

Both registries get ``storage.s3`` on the same bucket and ``rootdirectory`` (the same seeded
content), redirects off (the figures are the registries' own throughput), the in-memory blob
descriptor cache and upload purging off. Each workload runs ``--runs`` times interleaved
(cargohold, Distribution, cargohold, ...); the report gives medians and cargohold/Distribution.

Workloads: ``push-monolithic`` (POST + PUT of a ``--size`` blob), ``push-chunked`` (PATCHes of
``--chunk``), ``pull`` (GET of a seeded ``--size`` blob), ``catalog-page`` (``n=100`` after the
middle of ``--repositories``), ``tags-list`` (``--tags`` tags). ``append-cycles`` drives the
cargohold driver alone: ``--size`` written in ``--chunk`` appends, each closed as the upload
service does after a PATCH, then moved into place; it reports seconds and bytes copied
server-side. Writes ``s3.json`` and ``s3.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import blobs
from benchmarks.httpclient import Connection, ProtocolError
from benchmarks.run import machine_info
from benchmarks.settings import REPO_ROOT, SERVERS, MiB
from cargohold.reference import Digest
from cargohold.storage import paths
from cargohold.storage.driver.s3 import S3Driver, from_parameters
from cargohold.testing.seaweedfs import SeaweedFS
from cargohold.testing.servers import (
    RegistryProcess,
    cargohold_command,
    distribution_command,
    free_port,
)

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results"
ROOT = "/s3-bench"
PULL_REPO, TAGS_REPO, CATALOG = "bench/pull", "bench/tags", "catalog"
WORKLOADS = ("push-monolithic", "push-chunked", "pull", "catalog-page", "tags-list")
UNITS = {"push-monolithic": "MB/s", "push-chunked": "MB/s", "pull": "MB/s"}
#: Listing requests per timed run: one request is too short to time alone.
LISTING_REPEATS = 10


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def registry_config(kind: str, s3: SeaweedFS, port: int) -> dict[str, Any]:
    """The same config.yml for both (default ``chunksize``: 10 MiB parts), but for keys only
    one of them knows."""
    params = s3.driver_parameters(rootdirectory=ROOT)
    if kind == "distribution":
        # Distribution 2.8's s3-aws driver: no redirect_expiry; the path style is forced.
        params = {k: v for k, v in params.items() if k != "forcepathstyle"}
        params["v4auth"] = True
    return {
        "version": "0.1",
        "log": {"level": "warn"},
        "http": {"addr": f"127.0.0.1:{port}"},
        "storage": {
            "s3": params,
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
            "redirect": {"disable": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
    }


def start(kind: str, s3: SeaweedFS, workdir: Path) -> RegistryProcess:
    port, config_path = free_port(), workdir / kind / "config.yml"
    command = cargohold_command if kind == "cargohold" else distribution_command
    registry = RegistryProcess(
        kind,
        command(config_path),
        registry_config(kind, s3, port),
        workdir / kind,
        port,
        config_path=config_path,
    )
    registry.start()
    return registry


async def seed(s3: SeaweedFS, size: int, repositories: int, tags: int) -> str:
    """Write the pull blob, ``repositories`` catalog entries and ``tags`` tags; the pull digest."""
    driver = from_parameters(s3.driver_parameters(rootdirectory=ROOT))
    try:
        manifest = b'{"schemaVersion":2}'
        mdigest = Digest.from_bytes(manifest)
        content = blobs.BlobContent(size)
        writer = await driver.writer(paths.blob_data(Digest.parse(content.digest)))
        for part in content.parts(0, size):
            await writer.write(bytes(part))
        await writer.commit()
        semaphore = asyncio.Semaphore(64)

        async def put(path: str, data: bytes) -> None:
            async with semaphore:
                await driver.put_content(path, data)

        link = str(mdigest).encode()
        jobs = [
            put(paths.layer_link(PULL_REPO, Digest.parse(content.digest)), content.digest.encode()),
            put(paths.blob_data(mdigest), manifest),
            put(paths.revision_link(TAGS_REPO, mdigest), link),
        ]
        for i in range(tags):
            jobs.append(put(paths.tag_current_link(TAGS_REPO, f"t{i:05d}"), link))
            jobs.append(put(paths.tag_index_link(TAGS_REPO, f"t{i:05d}", mdigest), link))
        for i in range(repositories):
            name = f"{CATALOG}/r{i:05d}"
            jobs.append(put(paths.tag_current_link(name, "latest"), link))
        await asyncio.gather(*jobs)
        return content.digest
    finally:
        await driver.aclose()


def remove_blob(raw: Any, bucket: str, digest: str) -> None:
    """Delete a pushed blob's object outright, so the bucket does not grow run after run."""
    key = (ROOT.strip("/") + paths.blob_data(Digest.parse(digest))).lstrip("/")
    raw.delete_object(Bucket=bucket, Key=key)


def timed(fn: Callable[[], int]) -> float:
    """MB/s of ``fn``, which returns the bytes it moved."""
    started = time.perf_counter()
    moved = fn()
    return moved / (time.perf_counter() - started) / 1e6


def listing_ms(conn: Connection, target: str) -> float:
    """Median milliseconds of GET ``target`` (must answer 200), over LISTING_REPEATS requests."""
    times = []
    for _ in range(LISTING_REPEATS):
        started = time.perf_counter()
        response = conn.request("GET", target)
        times.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise ProtocolError(f"GET {target}: HTTP {response.status}: {response.body[:200]!r}")
    return statistics.median(times)


def run_workload(
    name: str, registry: RegistryProcess, args: argparse.Namespace, pull: str, s3: SeaweedFS
) -> float:
    size, chunk = args.size * MiB, args.chunk * MiB
    with Connection("127.0.0.1", registry.port) as conn:
        if name == "pull":
            return timed(lambda: blobs.pull(conn, PULL_REPO, pull, size))
        if name == "catalog-page":
            last = f"{CATALOG}/r{args.repositories // 2:05d}"
            return listing_ms(conn, f"/v2/_catalog?n=100&last={last}")
        if name == "tags-list":
            return listing_ms(conn, f"/v2/{TAGS_REPO}/tags/list")
        content = blobs.BlobContent(size)
        if name == "push-monolithic":
            value = timed(lambda: blobs.push_monolithic(conn, "bench/push", content))
        else:
            value = timed(lambda: blobs.push_chunked(conn, "bench/push", content, chunk))
    raw = s3.client()
    try:
        remove_blob(raw, s3.bucket, content.digest)
    finally:
        raw.close()
    return value


async def append_cycles(s3: SeaweedFS, size: int, chunk: int) -> dict[str, float]:
    """The upload service's pattern on the driver alone: append, close, stat; then move."""
    driver: S3Driver = from_parameters(s3.driver_parameters(rootdirectory=f"{ROOT}-append"))
    client = await driver.connection.client()
    copied = [0]

    def count(params: dict[str, Any], **_: Any) -> None:
        start, end = params["CopySourceRange"].removeprefix("bytes=").split("-")
        copied[0] += int(end) - int(start) + 1

    client.meta.events.register("before-parameter-build.s3.UploadPartCopy", count)
    block = os.urandom(MiB)
    path = "/r/_uploads/bench/data"
    try:
        started = time.perf_counter()
        writer = await driver.writer(path)
        await writer.close()
        for _ in range(size // chunk):
            writer = await driver.writer(path, append=True)
            for _ in range(chunk // MiB):
                await writer.write(block)
            await writer.close()
            await driver.stat(path)
        appended = time.perf_counter()
        copied_appending = copied[0]
        await driver.move(path, "/blobs/bench/data")
        moved = time.perf_counter()
        await driver.delete("/blobs")
    finally:
        await driver.aclose()
    return {
        "append_seconds": appended - started,
        "move_seconds": moved - appended,
        "copied_while_appending_mib": copied_appending / MiB,
        "copied_total_mib": copied[0] / MiB,
    }


def markdown(doc: dict[str, Any]) -> str:
    lines = [
        "# cargohold vs CNCF Distribution on S3 (SeaweedFS)",
        "",
        f"Started {doc['started']}; blob {doc['settings']['size']} MiB, chunks "
        f"{doc['settings']['chunk']} MiB, {doc['settings']['runs']} interleaved runs per server; "
        f"{doc['machine']['nproc']} CPUs ({doc['machine']['cpu_model']}); "
        f"{doc['machine']['distribution']}; SeaweedFS {doc['seaweedfs']}.",
        "",
        "| workload | unit | cargohold | Distribution | cargohold / Distribution | better |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in doc["results"].items():
        if "error" in result:
            lines.append(f"| {name} | | failed: {result['error']} | | | |")
            continue
        ours, theirs = result["median"]["cargohold"], result["median"]["distribution"]
        better = "higher" if result["unit"] == "MB/s" else "lower"
        lines.append(
            f"| {name} | {result['unit']} | {ours:,.1f} | {theirs:,.1f} | "
            f"{ours / theirs:.2f} | {better} |"
        )
    if "append-cycles" in doc:
        a = doc["append-cycles"]
        lines += [
            "",
            f"cargohold driver, {doc['settings']['size']} MiB in {doc['settings']['chunk']} MiB "
            f"append/close cycles: {a['append_seconds']:.1f} s appending with "
            f"{a['copied_while_appending_mib']:.0f} MiB copied server-side, then "
            f"{a['move_seconds']:.1f} s moving into place ({a['copied_total_mib']:.0f} MiB "
            "copied in all).",
        ]
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.s3_bench", description=__doc__)
    parser.add_argument("--size", type=int, default=256, help="blob MiB (default 256)")
    parser.add_argument("--chunk", type=int, default=16, help="PATCH MiB (default 16)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repositories", type=int, default=10_000)
    parser.add_argument("--tags", type=int, default=1_000)
    parser.add_argument("--workload", action="append", choices=[*WORKLOADS, "append-cycles"])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workloads = args.workload or [*WORKLOADS, "append-cycles"]
    # Distribution's AWS SDK refuses a CA bundle (set here for HTTPS) on its plain-HTTP client.
    os.environ.pop("AWS_CA_BUNDLE", None)
    started, clock = datetime.now(UTC), time.monotonic()
    doc: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine_info(),
        "settings": {k: v for k, v in vars(args).items() if k != "out"} | {"workload": workloads},
        "results": {},
    }
    with (
        tempfile.TemporaryDirectory(prefix="cargohold-s3-bench-") as tmp,
        SeaweedFS(Path(tmp) / "seaweedfs") as s3,
    ):
        doc["seaweedfs"] = os.popen(f"{s3.binary} version").read().strip()
        _log(f"SeaweedFS at {s3.endpoint}; seeding")
        pull = asyncio.run(seed(s3, args.size * MiB, args.repositories, args.tags))
        registries = {kind: start(kind, s3, Path(tmp)) for kind in SERVERS}
        try:
            for name in (w for w in workloads if w in WORKLOADS):
                samples: dict[str, list[float]] = {kind: [] for kind in SERVERS}
                try:
                    for run in range(args.runs):
                        for kind in SERVERS:
                            value = run_workload(name, registries[kind], args, pull, s3)
                            samples[kind].append(value)
                            _log(f"{name} {run + 1}/{args.runs} {kind}: {value:,.2f}")
                except (ProtocolError, OSError) as exc:
                    doc["results"][name] = {"error": f"{type(exc).__name__}: {exc}"}
                    continue
                doc["results"][name] = {
                    "unit": UNITS.get(name, "ms"),
                    "samples": samples,
                    "median": {k: statistics.median(v) for k, v in samples.items()},
                }
        finally:
            for registry in registries.values():
                registry.stop()
        if "append-cycles" in workloads:
            doc["append-cycles"] = asyncio.run(append_cycles(s3, args.size * MiB, args.chunk * MiB))
            _log(f"append-cycles: {doc['append-cycles']}")
    doc["wall_seconds"] = time.monotonic() - clock
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "s3.json").write_text(json.dumps(doc, indent=2) + "\n")
    (args.out / "s3.md").write_text(markdown(doc))
    _log(f"wrote {args.out / 's3.json'} and {args.out / 's3.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
