"""Fixtures for storage service tests: each runs over both the in-memory and filesystem drivers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cargohold.reference import Digest
from cargohold.storage.cache.inmemory import InMemoryBlobDescriptorCache
from cargohold.storage.driver.base import StorageDriver
from cargohold.storage.driver.filesystem import FilesystemDriver
from cargohold.storage.driver.inmemory import InMemoryDriver
from cargohold.storage.registry import StorageRegistry, create_registry

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@pytest.fixture(params=["inmemory", "filesystem"])
async def driver(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StorageDriver]:
    d: StorageDriver = (
        InMemoryDriver() if request.param == "inmemory" else FilesystemDriver(str(tmp_path))
    )
    yield d
    await d.aclose()


@pytest.fixture
def registry(driver: StorageDriver) -> StorageRegistry:
    return create_registry(driver, delete_enabled=True, cache=InMemoryBlobDescriptorCache(100))


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def push_blob(registry: StorageRegistry, repo: str, data: bytes) -> Digest:
    """Upload ``data`` into ``repo`` through the upload service; return its digest."""
    digest = Digest.from_bytes(data)
    uploads = registry.repository(repo).uploads
    status = await uploads.create()
    await uploads.commit(status.upload_id, digest, body(data))
    return digest


def descriptor(data: bytes, media_type: str) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": str(Digest.from_bytes(data)), "size": len(data)}


def image_manifest(
    config: bytes,
    layers: list[bytes],
    *,
    subject: bytes | None = None,
    artifact_type: str | None = None,
    config_type: str = OCI_CONFIG,
) -> bytes:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config, config_type),
        "layers": [descriptor(layer, OCI_LAYER) for layer in layers],
    }
    if artifact_type:
        doc["artifactType"] = artifact_type
    if subject is not None:
        doc["subject"] = descriptor(subject, OCI_MANIFEST)
    return json.dumps(doc, indent=3).encode()


def index_manifest(children: list[bytes]) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [descriptor(c, OCI_MANIFEST) for c in children],
    }
    return json.dumps(doc).encode()


async def push_image(
    registry: StorageRegistry, repo: str, seed: bytes, tags: list[str] | None = None, **kw: Any
) -> tuple[Digest, bytes]:
    """Push a config, one layer and a manifest derived from ``seed``; return the manifest digest."""
    config = b'{"seed": "' + seed + b'"}'
    layer = b"layer-" + seed
    await push_blob(registry, repo, config)
    await push_blob(registry, repo, layer)
    content = image_manifest(config, [layer], **kw)
    desc, _ = await registry.repository(repo).manifests.put(content, OCI_MANIFEST, None, tags or [])
    return desc.digest, content
