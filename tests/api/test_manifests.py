"""Manifests: push by tag/digest (with ``?tag=``), pull with Accept negotiation, delete."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import pytest
from yarl import URL

from cargohold.manifest import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from tests.api.conftest import MakeClient
from tests.api.helpers import (
    Client,
    assert_error,
    descriptor,
    image_manifest,
    index_manifest,
    push_blob,
    push_image,
    sha256,
)


async def test_push_by_tag(client: Client) -> None:
    config, layer = b'{"c":1}', b"layer"
    await push_blob(client, "foo/bar", config)
    await push_blob(client, "foo/bar", layer)
    manifest = image_manifest(config, [layer])
    resp = await client.put(
        "/v2/foo/bar/manifests/latest", data=manifest, headers={"Content-Type": OCI_MANIFEST}
    )
    assert resp.status == 201
    digest = sha256(manifest)
    assert resp.headers["Docker-Content-Digest"] == digest
    location = URL(resp.headers["Location"])
    assert location.is_absolute()
    assert location.path == f"/v2/foo/bar/manifests/{digest}"
    assert "OCI-Subject" not in resp.headers
    assert "OCI-Tag" not in resp.headers


@pytest.mark.parametrize("by", ["tag", "digest"])
async def test_pull(client: Client, by: str) -> None:
    manifest, digest = await push_image(client, "foo", "v1")
    reference = "v1" if by == "tag" else digest
    resp = await client.get(f"/v2/foo/manifests/{reference}")
    assert resp.status == 200
    assert await resp.read() == manifest
    assert resp.headers["Content-Type"] == OCI_MANIFEST
    assert resp.headers["Docker-Content-Digest"] == digest
    assert resp.headers["Content-Length"] == str(len(manifest))
    assert resp.headers["ETag"] == f'"{digest}"'
    head = await client.head(f"/v2/foo/manifests/{reference}")
    assert head.status == 200
    assert await head.read() == b""
    for name in ("Content-Type", "Docker-Content-Digest", "Content-Length", "ETag"):
        assert head.headers[name] == resp.headers[name]


async def test_push_by_digest(client: Client) -> None:
    config, layer = b"{}", b"l"
    await push_blob(client, "foo", config)
    await push_blob(client, "foo", layer)
    manifest = image_manifest(config, [layer])
    digest = sha256(manifest)
    resp = await client.put(
        f"/v2/foo/manifests/{digest}", data=manifest, headers={"Content-Type": OCI_MANIFEST}
    )
    assert resp.status == 201
    assert resp.headers["Docker-Content-Digest"] == digest
    tags = await client.get("/v2/foo/tags/list")
    assert (await tags.json())["tags"] == []


async def test_push_by_wrong_digest_is_400(client: Client) -> None:
    config, layer = b"{}", b"l"
    await push_blob(client, "foo", config)
    await push_blob(client, "foo", layer)
    manifest = image_manifest(config, [layer])
    wrong = sha256(b"other")
    resp = await client.put(
        f"/v2/foo/manifests/{wrong}", data=manifest, headers={"Content-Type": OCI_MANIFEST}
    )
    await assert_error(resp, 400, "DIGEST_INVALID")
    assert (await client.get(f"/v2/foo/manifests/{sha256(manifest)}")).status == 404


@pytest.mark.parametrize(
    ("accept", "ok"),
    [
        (None, True),
        ("*/*", True),
        (OCI_MANIFEST, True),
        (f"{DOCKER_MANIFEST}, {OCI_MANIFEST}", True),
        ("application/*", True),
        (DOCKER_MANIFEST, False),
        (f"{OCI_MANIFEST};q=0, */*", False),
    ],
)
async def test_accept_negotiation(client: Client, accept: str | None, ok: bool) -> None:
    await push_image(client, "foo", "v1")
    headers = {"Accept": accept} if accept is not None else {}
    resp = await client.get("/v2/foo/manifests/v1", headers=headers)
    if ok:
        assert resp.status == 200
    else:
        await assert_error(resp, 404, "MANIFEST_UNKNOWN")


async def test_several_accept_headers(client: Client) -> None:
    await push_image(client, "foo", "v1")
    resp = await client.get(
        "/v2/foo/manifests/v1", headers=[("Accept", DOCKER_MANIFEST), ("Accept", OCI_MANIFEST)]
    )
    assert resp.status == 200


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_if_none_match(client: Client, method: str) -> None:
    _, digest = await push_image(client, "foo", "v1")
    resp = await client.request(
        method, "/v2/foo/manifests/v1", headers={"If-None-Match": f'"{digest}"'}
    )
    assert resp.status == 304
    assert resp.headers["Docker-Content-Digest"] == digest


async def test_index(client: Client) -> None:
    child, _ = await push_image(client, "foo", "child")
    index = index_manifest([child])
    resp = await client.put(
        "/v2/foo/manifests/multi", data=index, headers={"Content-Type": OCI_INDEX}
    )
    assert resp.status == 201
    pulled = await client.get("/v2/foo/manifests/multi", headers={"Accept": OCI_INDEX})
    assert pulled.headers["Content-Type"] == OCI_INDEX
    assert await pulled.read() == index


async def test_index_with_unknown_child_is_400(client: Client) -> None:
    index = index_manifest([b"never pushed"])
    resp = await client.put(
        "/v2/foo/manifests/multi", data=index, headers={"Content-Type": OCI_INDEX}
    )
    await assert_error(resp, 400, "MANIFEST_BLOB_UNKNOWN")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b"{}",
        json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST}).encode(),
    ],
)
async def test_invalid_manifest_is_400(client: Client, body: bytes) -> None:
    resp = await client.put(
        "/v2/foo/manifests/v1", data=body, headers={"Content-Type": OCI_MANIFEST}
    )
    await assert_error(resp, 400, "MANIFEST_INVALID")
    assert (await client.get("/v2/foo/manifests/v1")).status == 404


async def test_manifest_with_unknown_blob_is_400(client: Client) -> None:
    await push_blob(client, "foo", b"{}")
    manifest = image_manifest(b"{}", [b"never pushed"])
    resp = await client.put(
        "/v2/foo/manifests/v1", data=manifest, headers={"Content-Type": OCI_MANIFEST}
    )
    entry = await assert_error(resp, 400, "MANIFEST_BLOB_UNKNOWN")
    assert entry["detail"] == {"digest": sha256(b"never pushed")}


async def test_too_large_by_content_length_is_413(client: Client) -> None:
    body = b" " * (4 * 1024 * 1024 + 1)
    resp = await client.put(
        "/v2/foo/manifests/v1", data=io.BytesIO(body), headers={"Content-Type": OCI_MANIFEST}
    )
    await assert_error(resp, 413, "MANIFEST_INVALID")


async def test_too_large_chunked_body_is_413(client: Client) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b" " * (1024 * 1024)

    resp = await client.put(
        "/v2/foo/manifests/v1", data=body(), headers={"Content-Type": OCI_MANIFEST}
    )
    await assert_error(resp, 413, "MANIFEST_INVALID")


async def test_manifest_of_exactly_4_mib_is_read(client: Client) -> None:
    # Whitespace-padded to exactly the limit: still valid JSON, and stored byte-exact.
    await push_blob(client, "foo", b"{}")
    await push_blob(client, "foo", b"l")
    manifest = image_manifest(b"{}", [b"l"])
    padded = manifest + b" " * (4 * 1024 * 1024 - len(manifest))
    resp = await client.put(
        "/v2/foo/manifests/v1", data=io.BytesIO(padded), headers={"Content-Type": OCI_MANIFEST}
    )
    assert resp.status == 201, await resp.text()
    pulled = await client.get("/v2/foo/manifests/v1")
    assert await pulled.read() == padded


@pytest.mark.parametrize("reference", ["-bad", ".bad", "a" * 129, "bad!tag"])
async def test_bad_tag_is_400(client: Client, reference: str) -> None:
    for method in ("GET", "HEAD", "PUT", "DELETE"):
        resp = await client.request(method, URL(f"/v2/foo/manifests/{reference}"), data=b"{}")
        assert resp.status == 400
        if method != "HEAD":
            await assert_error(resp, 400, "TAG_INVALID")


@pytest.mark.parametrize("reference", ["sha256:totallywrong", "sha256:" + "g" * 64, "foo:bar"])
async def test_bad_digest_is_400(client: Client, reference: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        resp = await client.request(method, f"/v2/foo/manifests/{reference}", data=b"{}")
        await assert_error(resp, 400, "DIGEST_INVALID")


async def test_unknown_manifest_is_404(client: Client) -> None:
    await push_image(client, "foo", "v1")
    await assert_error(await client.get("/v2/foo/manifests/v2"), 404, "MANIFEST_UNKNOWN")
    missing = sha256(b"missing")
    await assert_error(await client.get(f"/v2/foo/manifests/{missing}"), 404, "MANIFEST_UNKNOWN")
    await assert_error(await client.get("/v2/nope/manifests/v1"), 404, "MANIFEST_UNKNOWN")


async def test_multi_tag_push(client: Client) -> None:
    config, layer = b"{}", b"l"
    await push_blob(client, "foo", config)
    await push_blob(client, "foo", layer)
    manifest = image_manifest(config, [layer])
    digest = sha256(manifest)
    resp = await client.put(
        f"/v2/foo/manifests/{digest}?tag=a&tag=b&tag=a",
        data=manifest,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert resp.status == 201
    assert resp.headers.getall("OCI-Tag") == ["a", "b"]
    assert (await (await client.get("/v2/foo/tags/list")).json())["tags"] == ["a", "b"]
    for tag in ("a", "b"):
        pulled = await client.get(f"/v2/foo/manifests/{tag}")
        assert pulled.headers["Docker-Content-Digest"] == digest


async def test_multi_tag_push_with_a_tag_reference(client: Client) -> None:
    config, layer = b"{}", b"l"
    await push_blob(client, "foo", config)
    await push_blob(client, "foo", layer)
    manifest = image_manifest(config, [layer])
    resp = await client.put(
        "/v2/foo/manifests/main?tag=extra", data=manifest, headers={"Content-Type": OCI_MANIFEST}
    )
    assert resp.status == 201
    assert resp.headers.getall("OCI-Tag") == ["main", "extra"]


async def test_multi_tag_push_with_a_bad_tag_stores_nothing(client: Client) -> None:
    config, layer = b"{}", b"l"
    await push_blob(client, "foo", config)
    await push_blob(client, "foo", layer)
    manifest = image_manifest(config, [layer])
    digest = sha256(manifest)
    resp = await client.put(
        f"/v2/foo/manifests/{digest}?tag=good&tag=-bad",
        data=manifest,
        headers={"Content-Type": OCI_MANIFEST},
    )
    await assert_error(resp, 400, "TAG_INVALID")
    assert (await client.get(f"/v2/foo/manifests/{digest}")).status == 404
    assert (await client.get("/v2/foo/manifests/good")).status == 404


async def test_subject_is_acknowledged(client: Client) -> None:
    subject_bytes, subject_digest = await push_image(client, "foo", "v1")
    subject = {"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": len(subject_bytes)}
    config, layer = b'{"sig":1}', b"signature"
    await push_blob(client, "foo", config)
    await push_blob(client, "foo", layer)
    manifest = image_manifest(config, [layer], subject=subject, artifactType="application/x.sig")
    resp = await client.put(
        f"/v2/foo/manifests/{sha256(manifest)}",
        data=manifest,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert resp.status == 201
    assert resp.headers["OCI-Subject"] == subject_digest


async def test_delete_tag_keeps_the_manifest(client: Client) -> None:
    _, digest = await push_image(client, "foo", "v1")
    await push_image(client, "foo", "v2")
    resp = await client.delete("/v2/foo/manifests/v1")
    assert resp.status == 202
    await assert_error(await client.get("/v2/foo/manifests/v1"), 404, "MANIFEST_UNKNOWN")
    assert (await client.get(f"/v2/foo/manifests/{digest}")).status == 200
    assert (await (await client.get("/v2/foo/tags/list")).json())["tags"] == ["v2"]
    await assert_error(await client.delete("/v2/foo/manifests/v1"), 404, "MANIFEST_UNKNOWN")


async def test_delete_by_digest_removes_its_tags(client: Client) -> None:
    _, digest = await push_image(client, "foo", "v1")
    resp = await client.delete(f"/v2/foo/manifests/{digest}")
    assert resp.status == 202
    await assert_error(await client.get(f"/v2/foo/manifests/{digest}"), 404, "MANIFEST_UNKNOWN")
    await assert_error(await client.get("/v2/foo/manifests/v1"), 404, "MANIFEST_UNKNOWN")
    await assert_error(await client.delete(f"/v2/foo/manifests/{digest}"), 404, "MANIFEST_UNKNOWN")


async def test_delete_disabled_is_405(make_client: MakeClient) -> None:
    client = await make_client(storage={"delete": {"enabled": False}})
    _, digest = await push_image(client, "foo", "v1")
    for reference in ("v1", digest):
        resp = await client.delete(f"/v2/foo/manifests/{reference}")
        await assert_error(resp, 405, "UNSUPPORTED")
    assert (await client.get("/v2/foo/manifests/v1")).status == 200


async def test_docker_manifest_keeps_its_content_type(client: Client) -> None:
    config, layer = b"{}", b"l"
    await push_blob(client, "foo", config)
    await push_blob(client, "foo", layer)
    doc = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": descriptor("application/vnd.docker.container.image.v1+json", config),
        "layers": [descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", layer)],
    }
    manifest = json.dumps(doc).encode()
    resp = await client.put(
        "/v2/foo/manifests/d", data=manifest, headers={"Content-Type": DOCKER_MANIFEST}
    )
    assert resp.status == 201
    pulled = await client.get("/v2/foo/manifests/d", headers={"Accept": DOCKER_MANIFEST})
    assert pulled.headers["Content-Type"] == DOCKER_MANIFEST
    assert await pulled.read() == manifest
