"""Seed a storage root by writing Distribution's on-disk layout directly, which both servers read.

Pushing 10,000 repositories through the API would take longer than the benchmark itself, so the
files a push leaves behind are written here: ``blobs/sha256/<xx>/<hex>/data``, and per repository
``_layers`` links, ``_manifests/revisions`` links and ``_manifests/tags/<tag>/{current,index}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from benchmarks.settings import MiB, Settings

V2: Final = ("docker", "registry", "v2")
OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG: Final = "application/vnd.oci.image.config.v1+json"
OCI_LAYER: Final = "application/vnd.oci.image.layer.v1.tar"

#: Repository names the workloads use; the catalog repositories are ``CATALOG_PREFIX/rNNNNN``.
SMALL_REPO: Final = "bench/small"
TAGS_REPO: Final = "bench/tags"
PULL_REPO: Final = "bench/pull"
CATALOG_PREFIX: Final = "catalog"
SMALL_TAG: Final = "latest"


@dataclass(frozen=True)
class Seeded:
    """What a seeded root holds: the digests and sizes the workloads ask for."""

    manifest_digest: str
    layer_digest: str
    pull_digest: str
    pull_size: int
    repositories: int
    tags: int


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _v2(root: Path) -> Path:
    return root.joinpath(*V2)


def blob_path(root: Path, digest: str) -> Path:
    """``blobs/sha256/<xx>/<hex>/data`` of ``digest`` under ``root``."""
    hex_digest = digest.removeprefix("sha256:")
    return _v2(root) / "blobs" / "sha256" / hex_digest[:2] / hex_digest / "data"


def remove_blob(root: Path, digest: str) -> None:
    """Delete a blob's directory outright (between runs, so disk use stays bounded)."""
    shutil.rmtree(blob_path(root, digest).parent, ignore_errors=True)


def _put_blob(root: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _write(blob_path(root, digest), data)
    return digest


def _link(root: Path, repo: str, *parts: str, digest: str) -> None:
    _write(_v2(root).joinpath("repositories", repo, *parts, "link"), digest.encode())


def _link_layer(root: Path, repo: str, digest: str) -> None:
    _link(root, repo, "_layers", "sha256", digest.removeprefix("sha256:"), digest=digest)


def _image_repo(root: Path, repo: str, tags: list[str], manifest: str, blobs: list[str]) -> None:
    """A repository as a push of one manifest under ``tags`` leaves it."""
    hex_manifest = manifest.removeprefix("sha256:")
    for blob in blobs:
        _link_layer(root, repo, blob)
    _link(root, repo, "_manifests", "revisions", "sha256", hex_manifest, digest=manifest)
    for tag in tags:
        tag_dir = ("_manifests", "tags", tag)
        _link(root, repo, *tag_dir, "current", digest=manifest)
        _link(root, repo, *tag_dir, "index", "sha256", hex_manifest, digest=manifest)


def random_file_blob(root: Path, size: int, *, seed: bytes = b"pull") -> tuple[str, int]:
    """Write ``size`` pseudo-random bytes as a blob, streaming; returns (digest, size)."""
    block = hashlib.shake_256(seed).digest(min(size, 64 * MiB)) if size else b""
    tmp = _v2(root) / "seed.tmp"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    hasher = hashlib.sha256()
    with tmp.open("wb") as out:
        written = 0
        while written < size:
            # A counter in each block keeps the blob free of repeats a filesystem could exploit.
            piece = written.to_bytes(8, "big") + block[8 : min(len(block), size - written)]
            piece = piece[: size - written]
            hasher.update(piece)
            out.write(piece)
            written += len(piece)
    digest = "sha256:" + hasher.hexdigest()
    target = blob_path(root, digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    return digest, size


def seed_root(root: Path, settings: Settings) -> Seeded:
    """Write every repository the workloads need into an empty ``root``."""
    layer_bytes = hashlib.shake_256(b"layer").digest(4096)
    config_bytes = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    layer = _put_blob(root, layer_bytes)
    config = _put_blob(root, config_bytes)
    manifest_body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config, "size": len(config_bytes)},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer, "size": len(layer_bytes)}],
        },
        separators=(",", ":"),
    ).encode()
    manifest = _put_blob(root, manifest_body)
    blobs = [config, layer]
    _image_repo(root, SMALL_REPO, [SMALL_TAG], manifest, blobs)
    _image_repo(root, TAGS_REPO, [f"t{i:05d}" for i in range(settings.tags)], manifest, blobs)
    for i in range(settings.repositories):
        _image_repo(root, f"{CATALOG_PREFIX}/r{i:05d}", [SMALL_TAG], manifest, blobs)
    pull_digest, pull_size = random_file_blob(root, settings.blob_size)
    _image_repo(root, PULL_REPO, [], manifest, [*blobs, pull_digest])
    return Seeded(
        manifest_digest=manifest,
        layer_digest=layer,
        pull_digest=pull_digest,
        pull_size=pull_size,
        repositories=settings.repositories + 3,
        tags=settings.tags,
    )
