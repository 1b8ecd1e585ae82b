"""A realistic client: skopeo pushes a multi-layer image, then pulls it back, timed end to end.

Every run builds a new image (fresh random layers), so neither server can skip an upload and
skopeo's blob-info cache cannot turn a push into cross-repository mounts. Layers are gzip'd at
level 0: skopeo keeps compressed layers as they are, where it would gzip uncompressed ones itself
and time its own compressor instead of the registry.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

from tests.integration.images import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, OciLayout

from benchmarks.context import Bench, Sample, Target

_TAG = "bench"


def _layer(size: int) -> tuple[bytes, str]:
    """A gzip'd tar of one file of ``size`` random bytes; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("data.bin")
        info.size = size
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    tar_bytes = raw.getvalue()
    diff_id = "sha256:" + hashlib.sha256(tar_bytes).hexdigest()
    return gzip.compress(tar_bytes, compresslevel=0, mtime=0), diff_id


def build_image(path: Path, layers: int, layer_size: int) -> int:
    """Write a fresh OCI image layout at ``path`` tagged ``bench``; returns its total blob bytes."""
    layout = OciLayout(path)
    descs: list[dict[str, object]] = []
    diff_ids: list[str] = []
    total = 0
    for _ in range(layers):
        blob, diff_id = _layer(layer_size)
        descs.append(layout.write_blob(blob, OCI_LAYER_GZIP))
        diff_ids.append(diff_id)
        total += len(blob)
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    ).encode()
    config_desc = layout.write_blob(config, OCI_CONFIG)
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config_desc, "layers": descs}
    ).encode()
    layout.tag(layout.write_blob(manifest, OCI_MANIFEST), _TAG)
    return total + len(config) + len(manifest)


def _skopeo(bench: Bench, *args: str) -> float:
    """Run ``skopeo --insecure-policy copy ARGS`` (pinned like any load generator); its wall time."""
    command = [*bench.client_prefix, "skopeo", "--insecure-policy", "copy", "--quiet", *args]
    started = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-1500:]}")
    return elapsed


def skopeo_push_pull(bench: Bench, target: Target, run: int) -> Sample:
    """Wall time (s) of ``skopeo copy`` to the registry plus ``skopeo copy`` back to a directory."""
    work = bench.workdir / bench.unique("skopeo-")
    nbytes = build_image(
        work / "src", bench.settings.skopeo_layers, bench.settings.skopeo_layer_size
    )
    remote = f"docker://{target.registry.host}/{bench.unique('bench/skopeo-')}:{_TAG}"
    try:
        push = _skopeo(bench, "--dest-tls-verify=false", f"oci:{work / 'src'}:{_TAG}", remote)
        pull = _skopeo(bench, "--src-tls-verify=false", remote, f"dir:{work / 'dst'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Sample(
        push + pull,
        extra={"push_s": push, "pull_s": pull, "image_mb": nbytes / 1e6},
    )
