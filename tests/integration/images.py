"""Offline builders of image directories that skopeo reads, with deterministic content.

:class:`OciLayout` is an OCI image layout (OCI image-spec "image-layout"), for OCI images and
indexes. :class:`DirLayout` is skopeo's ``dir:`` transport, which pushes any manifest byte for byte:
skopeo 1.9 ignores Docker schema2 manifests listed in an OCI layout's ``index.json``. Layers are
gzip'd tars of seeded random bytes with fixed metadata, so a seed always yields the same digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG: Final = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP: Final = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG: Final = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP: Final = "application/vnd.docker.image.rootfs.diff.tar.gzip"
REF_NAME: Final = "org.opencontainers.image.ref.name"

Descriptor = dict[str, Any]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Stable JSON bytes, so a manifest's digest depends only on its content."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class BuiltImage:
    """What a builder wrote: the top-level manifest (or index) and the blobs it references."""

    tag: str
    digest: str
    media_type: str
    manifest: bytes
    layer_digests: tuple[str, ...]
    config_digest: str | None = None
    children: tuple[BuiltImage, ...] = field(default=())


class ImageLayout(Protocol):
    """Where a builder writes blobs and names manifests."""

    def write_blob(self, data: bytes, media_type: str) -> Descriptor: ...

    def tag(self, descriptor: Descriptor, tag: str) -> None: ...

    def ref(self, tag: str) -> str: ...


class OciLayout:
    """An OCI image layout directory: ``oci-layout``, ``index.json`` and ``blobs/sha256/``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tags: list[Descriptor] = []
        (path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        self._write_index()

    def ref(self, tag: str) -> str:
        """The skopeo ``oci:`` transport reference for ``tag`` in this layout."""
        return f"oci:{self.path}:{tag}"

    def write_blob(self, data: bytes, media_type: str) -> Descriptor:
        digest = sha256(data)
        (self.path / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def tag(self, descriptor: Descriptor, tag: str) -> None:
        """Name ``descriptor`` in ``index.json`` (replacing an earlier use of ``tag``)."""
        self._tags = [d for d in self._tags if d["annotations"][REF_NAME] != tag]
        self._tags.append({**descriptor, "annotations": {REF_NAME: tag}})
        self._write_index()

    def _write_index(self) -> None:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self._tags}
        (self.path / "index.json").write_bytes(canonical_json(index))


class DirLayout:
    """skopeo's ``dir:`` transport: blobs named by hex digest beside one ``manifest.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        (path / "version").write_text("Directory Transport Version: 1.1\n")

    def ref(self, tag: str = "") -> str:
        """The skopeo reference; a ``dir:`` holds one image, so ``tag`` is ignored."""
        return f"dir:{self.path}"

    def write_blob(self, data: bytes, media_type: str) -> Descriptor:
        digest = sha256(data)
        (self.path / digest.removeprefix("sha256:")).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def tag(self, descriptor: Descriptor, tag: str) -> None:
        """Make ``descriptor`` the directory's image (a ``dir:`` has no tag names)."""
        manifest = (self.path / descriptor["digest"].removeprefix("sha256:")).read_bytes()
        (self.path / "manifest.json").write_bytes(manifest)


def make_layer(seed: int, index: int, size: int) -> tuple[bytes, str]:
    """A gzip'd tar holding one file of seeded random bytes; returns (blob, diff_id)."""
    rng = random.Random(f"{seed}/{index}")
    payload = rng.randbytes(size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"data/layer-{seed}-{index}.bin")
        info.size = len(payload)
        info.mtime = 0
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(payload))
    uncompressed = raw.getvalue()
    return gzip.compress(uncompressed, mtime=0), sha256(uncompressed)


def build_image(
    layout: ImageLayout,
    tag: str | None,
    *,
    seed: int = 0,
    layers: int = 2,
    layer_size: int = 32 * 1024,
    docker: bool = False,
    os_name: str = "linux",
    architecture: str = "amd64",
) -> BuiltImage:
    """Write a single-platform image (OCI, or Docker schema2 if ``docker``) and tag it."""
    layer_type = DOCKER_LAYER_GZIP if docker else OCI_LAYER_GZIP
    layer_descs: list[Descriptor] = []
    diff_ids: list[str] = []
    for i in range(layers):
        blob, diff_id = make_layer(seed, i, layer_size)
        layer_descs.append(layout.write_blob(blob, layer_type))
        diff_ids.append(diff_id)
    config = {
        "architecture": architecture,
        "os": os_name,
        "config": {"Env": [f"SEED={seed}"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"cargohold test layer {i}"} for i in range(layers)],
    }
    config_desc = layout.write_blob(canonical_json(config), DOCKER_CONFIG if docker else OCI_CONFIG)
    media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": config_desc,
            "layers": layer_descs,
        }
    )
    desc = layout.write_blob(manifest, media_type)
    if tag is not None:
        layout.tag(desc, tag)
    return BuiltImage(
        tag=tag or "",
        digest=desc["digest"],
        media_type=media_type,
        manifest=manifest,
        layer_digests=tuple(d["digest"] for d in layer_descs),
        config_digest=config_desc["digest"],
    )


def build_index(
    layout: ImageLayout,
    tag: str,
    *,
    seed: int = 0,
    platforms: tuple[tuple[str, str], ...] = (("linux", "amd64"), ("linux", "arm64")),
) -> BuiltImage:
    """Write an OCI image index over one image per ``(os, architecture)`` and tag the index."""
    children: list[BuiltImage] = []
    entries: list[Descriptor] = []
    for n, (os_name, arch) in enumerate(platforms):
        child = build_image(
            layout, None, seed=seed * 100 + n, layers=1, os_name=os_name, architecture=arch
        )
        children.append(child)
        entries.append(
            {
                "mediaType": child.media_type,
                "digest": child.digest,
                "size": len(child.manifest),
                "platform": {"os": os_name, "architecture": arch},
            }
        )
    index = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    desc = layout.write_blob(index, OCI_INDEX)
    layout.tag(desc, tag)
    return BuiltImage(
        tag=tag,
        digest=desc["digest"],
        media_type=OCI_INDEX,
        manifest=index,
        layer_digests=tuple(d for c in children for d in c.layer_digests),
        children=tuple(children),
    )


def read_layout_manifest(path: Path, tag: str) -> tuple[Descriptor, bytes]:
    """Find ``tag`` in a layout's ``index.json``; return its descriptor and the manifest bytes."""
    index = json.loads((path / "index.json").read_bytes())
    for desc in index["manifests"]:
        if desc.get("annotations", {}).get(REF_NAME) == tag:
            return desc, read_layout_blob(path, desc["digest"])
    raise AssertionError(f"tag {tag!r} not in {path}/index.json: {index}")


def read_layout_blob(path: Path, digest: str) -> bytes:
    algorithm, _, hex_digest = digest.partition(":")
    return (path / "blobs" / algorithm / hex_digest).read_bytes()
