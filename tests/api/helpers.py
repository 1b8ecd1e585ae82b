"""Builders and assertions shared by the API tests: blobs, manifests and OCI error bodies."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from cargohold.api.errcode import ERROR_CODES
from cargohold.manifest import OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST

Client = TestClient[web.Request, web.Application]
JSON = dict[str, Any]


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def descriptor(media_type: str, data: bytes, **extra: Any) -> JSON:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


async def push_blob(client: Client, name: str, data: bytes, *, prefix: str = "") -> str:
    """Monolithic single-POST push; returns the digest."""
    digest = sha256(data)
    # A file object, not bytes: aiohttp warns about writing large bodies in one go.
    resp = await client.post(
        f"{prefix}/v2/{name}/blobs/uploads/?digest={digest}", data=io.BytesIO(data)
    )
    assert resp.status == 201, await resp.text()
    return digest


def image_manifest(
    config: bytes, layers: list[bytes], *, subject: JSON | None = None, **extra: Any
) -> bytes:
    """An OCI image manifest over already-pushed ``config`` and ``layers``."""
    doc: JSON = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": [descriptor(OCI_LAYER_GZIP, layer) for layer in layers],
    }
    if subject is not None:
        doc["subject"] = subject
    doc.update(extra)
    return json.dumps(doc).encode()


def index_manifest(children: list[bytes]) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [descriptor(OCI_MANIFEST, child) for child in children],
    }
    return json.dumps(doc).encode()


async def push_image(
    client: Client,
    name: str,
    reference: str,
    *,
    seed: str = "x",
    subject: JSON | None = None,
    prefix: str = "",
    **extra: Any,
) -> tuple[bytes, str]:
    """Push a config, one layer and a manifest; returns the manifest bytes and digest."""
    config = json.dumps({"seed": seed}).encode()
    layer = f"layer-{seed}".encode()
    await push_blob(client, name, config, prefix=prefix)
    await push_blob(client, name, layer, prefix=prefix)
    manifest = image_manifest(config, [layer], subject=subject, **extra)
    resp = await client.put(
        f"{prefix}/v2/{name}/manifests/{reference}",
        data=manifest,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert resp.status == 201, await resp.text()
    return manifest, sha256(manifest)


async def assert_error(resp: ClientResponse, status: int, code: str) -> JSON:
    """The response is ``status`` with a valid OCI error body whose first code is ``code``."""
    text = await resp.text()
    assert resp.status == status, text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = json.loads(text)
    assert set(body) == {"errors"}
    assert isinstance(body["errors"], list)
    assert body["errors"]
    for error in body["errors"]:
        assert set(error) == {"code", "message", "detail"}
        assert error["code"] in ERROR_CODES
        assert isinstance(error["message"], str)
        assert error["message"]
    assert body["errors"][0]["code"] == code
    entry: JSON = body["errors"][0]
    return entry
