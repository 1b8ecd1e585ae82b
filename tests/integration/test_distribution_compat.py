"""Drop-in compatibility: a storage root written by one server is served identically by the other.

One server (the writer) is populated with skopeo, including multi-tags, an index, a Docker
schema2 image and deleted manifests; everything observable over the API is recorded; the writer
is stopped and the reader is started on the same root, and must answer exactly the same.
Same-kind pairs check that a restart preserves state and validate the scenario itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cargohold.testing.servers import RegistryProcess, StartRegistry
from tests.integration.clients import Response, get_manifest, http, skopeo, skopeo_json
from tests.integration.images import (
    DOCKER_MANIFEST,
    BuiltImage,
    OciLayout,
    build_image,
    build_index,
    read_layout_blob,
    read_layout_manifest,
)

pytestmark = pytest.mark.integration

NO_TLS = "--tls-verify=false"


@dataclass
class Scenario:
    """What the writer was given: live tags per repository, and digests deleted since."""

    tags: dict[str, dict[str, BuiltImage]] = field(default_factory=dict)
    deleted: dict[str, list[BuiltImage]] = field(default_factory=dict)

    def images(self) -> list[tuple[str, BuiltImage]]:
        """Every (repository, image) pushed, deleted or not, each image once per repository."""
        seen: dict[tuple[str, str], BuiltImage] = {}
        for repo, tagged in self.tags.items():
            for image in tagged.values():
                seen[repo, image.digest] = image
        for repo, images in self.deleted.items():
            for image in images:
                seen[repo, image.digest] = image
        return [(repo, image) for (repo, _), image in sorted(seen.items())]


def push(layout: OciLayout, tag: str, registry: RegistryProcess, target: str, *flags: str) -> None:
    skopeo(
        "copy",
        "--dest-tls-verify=false",
        *flags,
        layout.ref(tag),
        f"docker://{registry.host}/{target}",
    )


def populate(registry: RegistryProcess, layout: OciLayout) -> Scenario:
    """Push the scenario into ``registry`` with skopeo."""
    scenario = Scenario()
    v1 = build_image(layout, "v1", seed=20)
    v2 = build_image(layout, "v2", seed=21, layers=1)
    old = build_image(layout, "old", seed=22, layers=1)
    index = build_index(layout, "multi", seed=23)
    only = build_image(layout, "only", seed=24, layers=1)

    for tag in ("v1", "stable"):
        push(layout, "v1", registry, f"compat/app:{tag}")
    push(layout, "v2", registry, "compat/app:latest")
    push(layout, "old", registry, "compat/app:old")
    push(layout, "multi", registry, "compat/multi:all", "--all")
    push(layout, "only", registry, "compat/emptied:only")
    push(layout, "v2", registry, "compat/docker:v2", "--format", "v2s2")
    docker_raw = skopeo("inspect", "--raw", NO_TLS, f"docker://{registry.host}/compat/docker:v2")
    docker = BuiltImage(
        tag="v2",
        digest=http_digest(registry, "compat/docker", "v2"),
        media_type=DOCKER_MANIFEST,
        manifest=docker_raw.encode(),
        layer_digests=v2.layer_digests,
        config_digest=v2.config_digest,
    )
    # Deleting a manifest deletes the tags that point at it.
    skopeo("delete", NO_TLS, f"docker://{registry.host}/compat/app:old")
    skopeo("delete", NO_TLS, f"docker://{registry.host}/compat/emptied:only")

    scenario.tags = {
        "compat/app": {"v1": v1, "stable": v1, "latest": v2},
        "compat/multi": {"all": index},
        "compat/docker": {"v2": docker},
    }
    scenario.deleted = {"compat/app": [old], "compat/emptied": [only]}
    return scenario


def http_digest(registry: RegistryProcess, repo: str, reference: str) -> str:
    response = get_manifest(registry.url, repo, reference, method="HEAD")
    assert response.status == 200
    digest: str = response.headers["Docker-Content-Digest"]
    return digest


def outcome(response: Response) -> tuple[Any, ...]:
    """The observable result of a request; error bodies are reduced to their OCI error codes."""
    if response.status >= 400:
        codes = [e["code"] for e in response.json()["errors"]] if response.body else []
        return (response.status, codes)
    return (response.status, response.headers.get("Content-Type"), response.body)


def tag_list(registry: RegistryProcess, repo: str) -> tuple[Any, ...]:
    """Tags as a sorted list: Distribution 2.8 returns them in directory order, not lexically."""
    response = http("GET", f"{registry.url}/v2/{repo}/tags/list")
    if response.status != 200:
        return outcome(response)
    body = response.json()
    return (response.status, body["name"], sorted(body["tags"] or []))


def snapshot(registry: RegistryProcess, scenario: Scenario) -> dict[str, Any]:
    """Everything a client can observe about the scenario's content, keyed by request."""
    base = registry.url
    catalog = http("GET", f"{base}/v2/_catalog")
    observed: dict[str, Any] = {"catalog": (catalog.status, catalog.json())}
    repos = sorted({*scenario.tags, *scenario.deleted})
    for repo in repos:
        observed[f"tags {repo}"] = tag_list(registry, repo)
        references = [
            *scenario.tags.get(repo, {}),
            *(i.tag for i in scenario.deleted.get(repo, [])),
        ]
        for reference in references:
            response = get_manifest(base, repo, reference)
            observed[f"manifest {repo}:{reference}"] = (
                *outcome(response),
                response.headers.get("Docker-Content-Digest"),
            )
    for repo, image in scenario.images():
        for child in (image, *image.children):
            response = get_manifest(base, repo, child.digest)
            observed[f"manifest {repo}@{child.digest}"] = outcome(response)
            blobs = [*child.layer_digests, *filter(None, [child.config_digest])]
            for digest in blobs:
                head = http("HEAD", f"{base}/v2/{repo}/blobs/{digest}")
                observed[f"blob {repo}@{digest}"] = (head.status, head.headers["Content-Length"])
    return observed


def check_scenario(registry: RegistryProcess, scenario: Scenario) -> None:
    """The API state the scenario must produce, whichever server wrote it."""
    catalog = http("GET", f"{registry.url}/v2/_catalog").json()["repositories"]
    assert {"compat/app", "compat/multi", "compat/docker"} <= set(catalog)
    for repo, tagged in scenario.tags.items():
        assert tag_list(registry, repo) == (200, repo, sorted(tagged))
        for tag, image in tagged.items():
            response = get_manifest(registry.url, repo, tag)
            assert response.body == image.manifest
            assert response.headers["Docker-Content-Digest"] == image.digest
    for repo, images in scenario.deleted.items():
        for image in images:
            assert get_manifest(registry.url, repo, image.digest).status == 404
            assert get_manifest(registry.url, repo, image.tag).status == 404


def pull_everything(
    registry: RegistryProcess, scenario: Scenario, layout: OciLayout, out: Path
) -> None:
    """skopeo pulls every live tag; manifests and blobs must be the ones originally pushed."""
    for repo, tagged in scenario.tags.items():
        for tag, image in tagged.items():
            source = f"docker://{registry.host}/{repo}:{tag}"
            if image.media_type == DOCKER_MANIFEST:
                target = out / f"{repo.replace('/', '_')}-{tag}"
                skopeo("copy", "--src-tls-verify=false", source, f"dir:{target}")
                assert (target / "manifest.json").read_bytes() == image.manifest
                continue
            skopeo("copy", "--src-tls-verify=false", "--all", source, f"oci:{out}:{repo}-{tag}")
            descriptor, manifest = read_layout_manifest(out, f"{repo}-{tag}")
            assert (descriptor["digest"], manifest) == (image.digest, image.manifest)
            for child in (image, *image.children):
                for digest in child.layer_digests:
                    assert read_layout_blob(out, digest) == read_layout_blob(layout.path, digest)
    tags = skopeo_json("list-tags", NO_TLS, f"docker://{registry.host}/compat/app")
    assert sorted(tags["Tags"]) == sorted(scenario.tags["compat/app"])


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        ("distribution", "cargohold"),
        ("cargohold", "distribution"),
        ("distribution", "distribution"),
        ("cargohold", "cargohold"),
    ],
    ids=lambda kind: str(kind),
)
def test_root_written_by_one_server_is_served_by_the_other(
    writer: str, reader: str, start_registry: StartRegistry, layout: OciLayout, tmp_path: Path
) -> None:
    root = tmp_path / "shared-root"
    first = start_registry(writer, root)
    scenario = populate(first, layout)
    check_scenario(first, scenario)
    expected = snapshot(first, scenario)
    first.stop()

    second = start_registry(reader, root)
    assert snapshot(second, scenario) == expected
    check_scenario(second, scenario)
    pull_everything(second, scenario, layout, tmp_path / "pulled")
