"""The referrers API: an image index of the manifests whose subject is a digest."""

from __future__ import annotations

import pytest

from cargohold.manifest import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST
from tests.api.helpers import JSON, Client, assert_error, push_image, sha256

SBOM = "application/vnd.example.sbom.v1"
SIG = "application/vnd.example.signature.v1"


@pytest.fixture
async def subject(client: Client) -> JSON:
    manifest, digest = await push_image(client, "foo", "v1", seed="subject")
    return {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest)}


async def test_referrers_listed_with_artifact_types(client: Client, subject: JSON) -> None:
    sbom, sbom_digest = await push_image(
        client,
        "foo",
        "sbom",
        seed="sbom",
        subject=subject,
        artifactType=SBOM,
        annotations={"org.example": "yes"},
    )
    sig, sig_digest = await push_image(client, "foo", "sig", seed="sig", subject=subject)
    resp = await client.get(f"/v2/foo/referrers/{subject['digest']}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == OCI_INDEX
    assert "OCI-Filters-Applied" not in resp.headers
    index = await resp.json()
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == OCI_INDEX
    by_digest = {m["digest"]: m for m in index["manifests"]}
    assert set(by_digest) == {sbom_digest, sig_digest}
    assert by_digest[sbom_digest]["artifactType"] == SBOM
    assert by_digest[sbom_digest]["annotations"] == {"org.example": "yes"}
    assert by_digest[sbom_digest]["size"] == len(sbom)
    # No artifactType on the manifest: the config's media type stands in for it.
    assert by_digest[sig_digest]["artifactType"] == OCI_CONFIG
    assert by_digest[sig_digest]["mediaType"] == OCI_MANIFEST
    assert by_digest[sig_digest]["size"] == len(sig)


async def test_artifact_type_filter(client: Client, subject: JSON) -> None:
    _, sbom_digest = await push_image(
        client, "foo", "sbom", seed="sbom", subject=subject, artifactType=SBOM
    )
    await push_image(client, "foo", "sig", seed="sig", subject=subject, artifactType=SIG)
    resp = await client.get(f"/v2/foo/referrers/{subject['digest']}", params={"artifactType": SBOM})
    assert resp.status == 200
    assert resp.headers["OCI-Filters-Applied"] == "artifactType"
    assert [m["digest"] for m in (await resp.json())["manifests"]] == [sbom_digest]
    resp = await client.get(
        f"/v2/foo/referrers/{subject['digest']}", params={"artifactType": "application/none"}
    )
    assert resp.headers["OCI-Filters-Applied"] == "artifactType"
    assert (await resp.json())["manifests"] == []


@pytest.mark.parametrize("name", ["foo", "never/pushed"])
async def test_no_referrers_is_an_empty_index(client: Client, subject: JSON, name: str) -> None:
    resp = await client.get(f"/v2/{name}/referrers/{sha256(b'lonely')}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == OCI_INDEX
    assert await resp.json() == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}


async def test_deleted_referrer_disappears(client: Client, subject: JSON) -> None:
    _, sbom_digest = await push_image(
        client, "foo", "sbom", seed="sbom", subject=subject, artifactType=SBOM
    )
    assert (await client.delete(f"/v2/foo/manifests/{sbom_digest}")).status == 202
    resp = await client.get(f"/v2/foo/referrers/{subject['digest']}")
    assert (await resp.json())["manifests"] == []


@pytest.mark.parametrize("reference", ["sha256:totallywrong", "latest", "md5:" + "a" * 32])
async def test_invalid_digest_is_400(client: Client, reference: str) -> None:
    await assert_error(await client.get(f"/v2/foo/referrers/{reference}"), 400, "DIGEST_INVALID")
