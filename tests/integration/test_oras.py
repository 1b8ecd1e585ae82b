"""The oras Python SDK against each registry: artifacts, artifactType, subject and referrers."""

from __future__ import annotations

import hashlib
import json
import random
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import oras.oci
import oras.provider
import pytest

from cargohold.testing.servers import RegistryProcess
from tests.integration.clients import http

pytestmark = pytest.mark.integration

OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
OCI_EMPTY: Final = "application/vnd.oci.empty.v1+json"
SBOM_TYPE: Final = "application/vnd.example.sbom.v1+json"
SIGNATURE_CONFIG: Final = "application/vnd.example.signature.config.v1+json"
DATA_TYPE: Final = "application/vnd.example.data.v1"


class Client(oras.provider.Registry):  # type: ignore[misc]
    """The SDK client without its retry loop, which sleeps minutes before surfacing an error."""

    do_request = oras.provider.Registry.do_request.__wrapped__


def client_for(registry: RegistryProcess) -> Any:
    return Client(hostname=registry.host, insecure=True)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_random(path: Path, seed: int, size: int = 20_000) -> bytes:
    data = random.Random(seed).randbytes(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def push_blob(client: Any, container: Any, path: Path, media_type: str) -> dict[str, Any]:
    """Upload one file as a blob through the SDK; return its descriptor."""
    layer: dict[str, Any] = oras.oci.NewLayer(str(path), media_type=media_type)
    response = client.upload_blob(str(path), container, layer)
    assert response.status_code in (200, 201), response.text
    return layer


@dataclass(frozen=True)
class Pushed:
    """A manifest as the registry stored it, with the headers of the PUT that stored it."""

    digest: str
    size: int
    put_headers: dict[str, str]  # lower-cased names: HTTP header names are case-insensitive


def fetch_pushed(client: Any, target: str, put_headers: dict[str, str]) -> Pushed:
    """Read back ``target``'s manifest bytes: digest and size of what the registry serves."""
    served = client.do_request(
        f"http://{client.get_container(target).manifest_url()}",
        "GET",
        headers={"Accept": OCI_MANIFEST},
    )
    assert served.status_code == 200, served.text
    headers = {name.lower(): value for name, value in put_headers.items()}
    return Pushed(sha256(served.content), len(served.content), headers)


def push_manifest(client: Any, target: str, manifest: dict[str, Any]) -> Pushed:
    """PUT a manifest through the SDK; the registry must answer with its digest."""
    response = client.upload_manifest(manifest, client.get_container(target))
    assert response.status_code == 201, response.text
    pushed = fetch_pushed(client, target, dict(response.headers))
    assert response.headers["Docker-Content-Digest"] == pushed.digest
    return pushed


def test_artifact_push_pull_round_trip(registry: RegistryProcess, tmp_path: Path) -> None:
    client = client_for(registry)
    target = f"{registry.host}/artifacts/bundle:v1"
    src = tmp_path / "src"
    payloads = {
        "model.bin": write_random(src / "model.bin", seed=1),
        "notes.txt": write_random(src / "notes.txt", seed=2, size=300),
    }
    config = src / "config.json"
    config.write_bytes(b'{"kind":"bundle"}')

    response = client.push(
        target=target,
        files=[f"{src / name}:{DATA_TYPE}" for name in payloads],
        manifest_config=f"{config}:{SIGNATURE_CONFIG}",
        manifest_annotations={"org.example.purpose": "integration"},
        disable_path_validation=True,
        quiet=True,
    )
    assert response.status_code == 201

    pulled = client.pull(target=target, outdir=str(tmp_path / "out"))
    assert sorted(Path(p).name for p in pulled) == sorted(payloads)
    for path in pulled:
        assert Path(path).read_bytes() == payloads[Path(path).name]

    manifest = client.get_manifest(target)
    assert manifest["config"]["mediaType"] == SIGNATURE_CONFIG
    assert manifest["config"]["digest"] == sha256(config.read_bytes())
    assert manifest["annotations"] == {"org.example.purpose": "integration"}
    assert [layer["mediaType"] for layer in manifest["layers"]] == [DATA_TYPE, DATA_TYPE]
    assert client.get_tags(target) == ["v1"]


def artifact_manifest(
    config: dict[str, Any], layer: dict[str, Any], subject: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An OCI 1.1 artifact manifest: ``artifactType`` with the empty config descriptor."""
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": SBOM_TYPE,
        "config": config,
        "layers": [layer],
        "annotations": {"org.example.kind": "sbom"},
    }
    if subject is not None:
        manifest["subject"] = subject
    return manifest


def push_empty_config(client: Any, container: Any, tmp_path: Path) -> dict[str, Any]:
    """The OCI image-spec "empty descriptor": ``{}`` as application/vnd.oci.empty.v1+json."""
    path = tmp_path / "empty.json"
    path.write_bytes(b"{}")
    return push_blob(client, container, path, OCI_EMPTY)


def test_artifact_type_manifest_round_trips(registry: RegistryProcess, tmp_path: Path) -> None:
    client = client_for(registry)
    target = f"{registry.host}/artifacts/sbom:v1"
    container = client.get_container(target)
    config = push_empty_config(client, container, tmp_path)
    sbom = tmp_path / "sbom.json"
    sbom.write_bytes(json.dumps({"packages": ["a", "b"]}).encode())
    layer = push_blob(client, container, sbom, SBOM_TYPE)

    manifest = artifact_manifest(config, layer)
    pushed = push_manifest(client, target, manifest)

    assert client.get_manifest(target) == manifest
    assert client.get_manifest(f"{registry.host}/artifacts/sbom@{pushed.digest}") == manifest
    blob = client.get_blob(container, layer["digest"])
    assert blob.status_code == 200
    assert blob.content == sbom.read_bytes()


def push_subject_image(client: Any, registry: RegistryProcess, tmp_path: Path) -> Any:
    """Push an artifact to be referred to; return its oras Subject as the registry serves it."""
    target = f"{registry.host}/signed/app:v1"
    payload = tmp_path / "subject" / "app.bin"
    write_random(payload, seed=3)
    response = client.push(
        target=target, files=[str(payload)], disable_path_validation=True, quiet=True
    )
    assert response.status_code == 201
    pushed = fetch_pushed(client, target, dict(response.headers))
    return oras.oci.Subject(OCI_MANIFEST, pushed.digest, pushed.size)


def push_referrers(
    client: Any, registry: RegistryProcess, tmp_path: Path, subject: Any
) -> tuple[Pushed, Pushed]:
    """Push two referrers of ``subject``: an SBOM (artifactType) and a signature (config type)."""
    sbom_target = f"{registry.host}/signed/app:sbom"
    container = client.get_container(sbom_target)
    config = push_empty_config(client, container, tmp_path)
    sbom = tmp_path / "sbom.json"
    sbom.write_bytes(b'{"packages":[]}')
    layer = push_blob(client, container, sbom, SBOM_TYPE)
    subject_descriptor = {
        "mediaType": subject.mediaType,
        "digest": subject.digest,
        "size": subject.size,
    }
    sbom_manifest = artifact_manifest(config, layer, subject_descriptor)
    sbom_pushed = push_manifest(client, sbom_target, sbom_manifest)

    signature = tmp_path / "sig" / "signature.bin"
    write_random(signature, seed=4, size=64)
    sig_config = tmp_path / "sig-config.json"
    sig_config.write_bytes(b'{"signer":"test"}')
    sig_target = f"{registry.host}/signed/app:sig"
    response = client.push(
        target=sig_target,
        files=[str(signature)],
        manifest_config=f"{sig_config}:{SIGNATURE_CONFIG}",
        subject=subject,
        disable_path_validation=True,
        quiet=True,
    )
    assert response.status_code == 201, response.text
    return sbom_pushed, fetch_pushed(client, sig_target, dict(response.headers))


def test_manifests_with_subject_are_accepted(registry: RegistryProcess, tmp_path: Path) -> None:
    client = client_for(registry)
    subject = push_subject_image(client, registry, tmp_path)
    sbom_pushed, sig_pushed = push_referrers(client, registry, tmp_path, subject)

    sbom = client.get_manifest(f"{registry.host}/signed/app@{sbom_pushed.digest}")
    assert sbom["subject"]["digest"] == subject.digest
    assert sbom["artifactType"] == SBOM_TYPE
    signature = client.get_manifest(f"{registry.host}/signed/app@{sig_pushed.digest}")
    assert signature["subject"]["digest"] == subject.digest
    assert sorted(client.get_tags(f"{registry.host}/signed/app")) == ["sbom", "sig", "v1"]


# CNCF Distribution 2.8 predates the referrers API (OCI distribution-spec v1.1), so only cargohold.
@pytest.mark.parametrize("registry_kind", ["cargohold"])
def test_referrers_lists_both_referrers(registry: RegistryProcess, tmp_path: Path) -> None:
    client = client_for(registry)
    subject = push_subject_image(client, registry, tmp_path)
    sbom, sig = push_referrers(client, registry, tmp_path, subject)
    # OCI distribution-spec §pushing-manifests-with-subject: OCI-Subject acknowledges the subject.
    assert sbom.put_headers.get("oci-subject") == subject.digest
    assert sig.put_headers.get("oci-subject") == subject.digest

    url = f"{registry.url}/v2/signed/app/referrers/{subject.digest}"
    listed = http("GET", url)
    assert listed.status == 200
    assert listed.headers["Content-Type"] == OCI_INDEX
    index = listed.json()
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == OCI_INDEX
    by_digest = {d["digest"]: d for d in index["manifests"]}
    assert set(by_digest) == {sbom.digest, sig.digest}
    assert by_digest[sbom.digest]["artifactType"] == SBOM_TYPE
    assert by_digest[sbom.digest]["size"] == sbom.size
    assert by_digest[sbom.digest]["annotations"] == {"org.example.kind": "sbom"}
    assert by_digest[sig.digest]["size"] == sig.size
    # Without artifactType, the config media type stands in (OCI distribution-spec §listing-referrers).
    assert by_digest[sig.digest]["artifactType"] == SIGNATURE_CONFIG
    assert {d["mediaType"] for d in index["manifests"]} == {OCI_MANIFEST}

    # "+" must be percent-encoded: in a query string it would decode to a space.
    filtered = http("GET", f"{url}?{urllib.parse.urlencode({'artifactType': SBOM_TYPE})}")
    assert filtered.status == 200
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [d["digest"] for d in filtered.json()["manifests"]] == [sbom.digest]

    unknown = "sha256:" + "0" * 64
    empty = http("GET", f"{registry.url}/v2/signed/app/referrers/{unknown}")
    assert empty.status == 200
    assert empty.json()["manifests"] == []
