"""Builders of manifest JSON documents for the manifest tests."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cargohold.manifest import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
)

JSON = dict[str, Any]


def digest_of(seed: str, algorithm: str = "sha256") -> str:
    """A well-formed digest, distinct per ``seed``."""
    return f"{algorithm}:{hashlib.new(algorithm, seed.encode()).hexdigest()}"


def desc(media_type: str, seed: str, size: int = 10, **extra: Any) -> JSON:
    """A descriptor JSON object."""
    return {"mediaType": media_type, "digest": digest_of(seed), "size": size, **extra}


def oci_manifest(**extra: Any) -> JSON:
    doc: JSON = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": desc(OCI_CONFIG, "config"),
        "layers": [desc(OCI_LAYER_GZIP, "layer0"), desc(OCI_LAYER_GZIP, "layer1")],
    }
    doc.update(extra)
    return doc


def oci_index(**extra: Any) -> JSON:
    doc: JSON = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            desc(OCI_MANIFEST, "amd64", platform={"architecture": "amd64", "os": "linux"}),
            desc(OCI_MANIFEST, "arm64", platform={"architecture": "arm64", "os": "linux"}),
        ],
    }
    doc.update(extra)
    return doc


def docker_manifest(**extra: Any) -> JSON:
    doc: JSON = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": desc(DOCKER_CONFIG, "config"),
        "layers": [desc(DOCKER_LAYER, "layer0")],
    }
    doc.update(extra)
    return doc


def docker_list(**extra: Any) -> JSON:
    doc: JSON = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST_LIST,
        "manifests": [
            desc(DOCKER_MANIFEST, "amd64", platform={"architecture": "amd64", "os": "linux"})
        ],
    }
    doc.update(extra)
    return doc


def without(doc: JSON, *keys: str) -> JSON:
    """A copy of ``doc`` without ``keys``."""
    return {k: v for k, v in doc.items() if k not in keys}


def encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()
