"""skopeo (containers/image) against each registry: push, pull, inspect, tags, delete, formats."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cargohold.testing.servers import RegistryProcess
from tests.integration.clients import get_manifest, http, skopeo, skopeo_json
from tests.integration.images import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    OCI_INDEX,
    DirLayout,
    OciLayout,
    build_image,
    build_index,
    read_layout_blob,
    read_layout_manifest,
)

pytestmark = pytest.mark.integration

NO_TLS = "--tls-verify=false"


def docker_ref(registry: RegistryProcess, repo: str, tag: str) -> str:
    return f"docker://{registry.host}/{repo}:{tag}"


def push(source: str, dest: str, *flags: str) -> None:
    skopeo("copy", "--dest-tls-verify=false", *flags, source, dest)


def pull(source: str, dest: str, *flags: str) -> None:
    skopeo("copy", "--src-tls-verify=false", *flags, source, dest)


def skopeo_fails(*args: str) -> str:
    """Run skopeo expecting failure; return its stderr."""
    result = subprocess.run(
        ["skopeo", "--insecure-policy", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0, f"skopeo {args} unexpectedly succeeded: {result.stdout}"
    return result.stderr


def test_oci_image_round_trips_byte_identical(
    registry: RegistryProcess, layout: OciLayout, tmp_path: Path
) -> None:
    image = build_image(layout, "v1", seed=1, layers=3)
    push(layout.ref("v1"), docker_ref(registry, "demo/app", "v1"))

    out = tmp_path / "pulled"
    pull(docker_ref(registry, "demo/app", "v1"), f"oci:{out}:v1")

    descriptor, manifest = read_layout_manifest(out, "v1")
    assert descriptor["digest"] == image.digest
    assert manifest == image.manifest
    assert [layer["digest"] for layer in json.loads(manifest)["layers"]] == list(
        image.layer_digests
    )
    for digest in image.layer_digests:
        assert read_layout_blob(out, digest) == read_layout_blob(layout.path, digest)


def test_inspect_reports_the_pushed_digest(registry: RegistryProcess, layout: OciLayout) -> None:
    image = build_image(layout, "v1", seed=2)
    ref = docker_ref(registry, "demo/inspect", "v1")
    push(layout.ref("v1"), ref)

    assert skopeo("inspect", "--raw", NO_TLS, ref).encode() == image.manifest
    info = skopeo_json("inspect", NO_TLS, ref)
    assert info["Digest"] == image.digest
    assert info["Layers"] == list(image.layer_digests)
    assert (info["Os"], info["Architecture"]) == ("linux", "amd64")

    head = get_manifest(registry.url, "demo/inspect", "v1", method="HEAD")
    assert head.status == 200
    assert head.headers["Docker-Content-Digest"] == image.digest
    assert int(head.headers["Content-Length"]) == len(image.manifest)


def test_list_tags_returns_every_pushed_tag(registry: RegistryProcess, layout: OciLayout) -> None:
    build_image(layout, "src", seed=3, layers=1)
    tags = ["v1.0", "latest", "1", "beta_2"]
    for tag in tags:
        push(layout.ref("src"), docker_ref(registry, "demo/tags", tag))

    listed = skopeo_json("list-tags", NO_TLS, f"docker://{registry.host}/demo/tags")
    assert sorted(listed["Tags"]) == sorted(tags)


def test_delete_removes_manifest_and_its_tag(registry: RegistryProcess, layout: OciLayout) -> None:
    doomed = build_image(layout, "doomed", seed=4, layers=1)
    kept = build_image(layout, "kept", seed=5, layers=1)
    for tag in ("doomed", "kept"):
        push(layout.ref(tag), docker_ref(registry, "demo/delete", tag))

    skopeo("delete", NO_TLS, docker_ref(registry, "demo/delete", "doomed"))

    assert "manifest unknown" in skopeo_fails(
        "inspect", NO_TLS, docker_ref(registry, "demo/delete", "doomed")
    )
    gone = get_manifest(registry.url, "demo/delete", doomed.digest)
    assert gone.status == 404
    assert gone.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert get_manifest(registry.url, "demo/delete", kept.digest).body == kept.manifest
    listed = skopeo_json("list-tags", NO_TLS, f"docker://{registry.host}/demo/delete")
    assert listed["Tags"] == ["kept"]


def test_copy_with_format_v2s2_converts_to_docker_schema2(
    registry: RegistryProcess, layout: OciLayout, tmp_path: Path
) -> None:
    image = build_image(layout, "v1", seed=6)
    ref = docker_ref(registry, "demo/v2s2", "v1")
    push(layout.ref("v1"), ref, "--format", "v2s2")

    raw = skopeo("inspect", "--raw", NO_TLS, ref)
    manifest = json.loads(raw)
    assert manifest["mediaType"] == DOCKER_MANIFEST
    assert manifest["config"]["mediaType"] == DOCKER_CONFIG
    assert {layer["mediaType"] for layer in manifest["layers"]} == {DOCKER_LAYER_GZIP}
    # The compressed layer bytes are reused as-is, so their digests survive the conversion.
    assert [layer["digest"] for layer in manifest["layers"]] == list(image.layer_digests)

    served = get_manifest(registry.url, "demo/v2s2", "v1")
    assert served.headers["Content-Type"] == DOCKER_MANIFEST
    assert served.body == raw.encode()

    out = tmp_path / "pulled"
    pull(ref, f"dir:{out}")
    assert (out / "manifest.json").read_bytes() == raw.encode()


def test_docker_schema2_manifest_is_stored_byte_identical(
    registry: RegistryProcess, tmp_path: Path
) -> None:
    source = DirLayout(tmp_path / "docker-image")
    image = build_image(source, "v1", seed=7, docker=True)
    ref = docker_ref(registry, "demo/docker", "v1")
    push(source.ref(), ref)

    assert skopeo("inspect", "--raw", NO_TLS, ref).encode() == image.manifest
    served = get_manifest(registry.url, "demo/docker", image.digest)
    assert served.status == 200
    assert served.headers["Content-Type"] == DOCKER_MANIFEST
    assert served.headers["Docker-Content-Digest"] == image.digest
    assert served.body == image.manifest


def test_multi_arch_index_copies_with_all(
    registry: RegistryProcess, layout: OciLayout, tmp_path: Path
) -> None:
    index = build_index(layout, "multi", seed=8)
    ref = docker_ref(registry, "demo/multi", "multi")
    push(layout.ref("multi"), ref, "--all")

    assert skopeo("inspect", "--raw", NO_TLS, ref).encode() == index.manifest
    served = get_manifest(registry.url, "demo/multi", "multi")
    assert served.headers["Content-Type"] == OCI_INDEX
    assert served.headers["Docker-Content-Digest"] == index.digest
    for child in index.children:
        assert get_manifest(registry.url, "demo/multi", child.digest).body == child.manifest
    # skopeo resolves the index to the requested platform's manifest.
    arm64 = skopeo_json("--override-arch", "arm64", "inspect", NO_TLS, ref)
    assert arm64["Architecture"] == "arm64"
    assert arm64["Layers"] == list(index.children[1].layer_digests)

    out = tmp_path / "pulled"
    pull(ref, f"oci:{out}:multi", "--all")
    descriptor, manifest = read_layout_manifest(out, "multi")
    assert (descriptor["digest"], manifest) == (index.digest, index.manifest)
    for child in index.children:
        assert read_layout_blob(out, child.digest) == child.manifest
        for digest in child.layer_digests:
            assert read_layout_blob(out, digest) == read_layout_blob(layout.path, digest)


def test_copy_between_repositories_of_one_registry(
    registry: RegistryProcess, layout: OciLayout
) -> None:
    image = build_image(layout, "v1", seed=9)
    push(layout.ref("v1"), docker_ref(registry, "team-a/app", "v1"))

    # skopeo mounts blobs across repositories of the same registry instead of re-uploading them.
    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        docker_ref(registry, "team-a/app", "v1"),
        docker_ref(registry, "team-b/app", "copied"),
    )

    assert get_manifest(registry.url, "team-b/app", "copied").body == image.manifest
    assert image.config_digest is not None
    for digest in (*image.layer_digests, image.config_digest):
        blob = http("GET", f"{registry.url}/v2/team-b/app/blobs/{digest}")
        assert blob.status == 200
        assert blob.body == read_layout_blob(layout.path, digest)
    catalog = http("GET", f"{registry.url}/v2/_catalog").json()
    assert catalog["repositories"] == ["team-a/app", "team-b/app"]


def test_cross_repository_mount_over_http(registry: RegistryProcess, layout: OciLayout) -> None:
    image = build_image(layout, "v1", seed=10, layers=1)
    push(layout.ref("v1"), docker_ref(registry, "mount/source", "v1"))
    digest = image.layer_digests[0]

    # OCI distribution-spec "Mounting a blob from another repository": 201 when mounted.
    mounted = http(
        "POST", f"{registry.url}/v2/mount/target/blobs/uploads/?mount={digest}&from=mount/source"
    )
    assert mounted.status == 201
    assert mounted.headers["Docker-Content-Digest"] == digest
    assert mounted.headers["Location"].endswith(f"/v2/mount/target/blobs/{digest}")
    head = http("HEAD", f"{registry.url}/v2/mount/target/blobs/{digest}")
    assert head.status == 200
    assert int(head.headers["Content-Length"]) == len(read_layout_blob(layout.path, digest))

    # A blob the source repository lacks cannot be mounted: the registry opens an upload instead.
    fallback = http(
        "POST", f"{registry.url}/v2/mount/other/blobs/uploads/?mount={digest}&from=mount/nowhere"
    )
    assert fallback.status == 202
    assert "/v2/mount/other/blobs/uploads/" in fallback.headers["Location"]
