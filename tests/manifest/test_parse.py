"""Table-driven tests of parse_manifest: every supported type and every way to be invalid."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cargohold.errors import ManifestInvalid
from cargohold.manifest import (
    DOCKER_CONFIG,
    DOCKER_FOREIGN_LAYER,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    MAX_DEPTH,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_LAYER_NONDISTRIBUTABLE_GZIP,
    OCI_MANIFEST,
    Descriptor,
    parse_manifest,
)
from cargohold.reference import Digest
from tests.manifest.builders import (
    JSON,
    desc,
    digest_of,
    docker_list,
    docker_manifest,
    encode,
    oci_index,
    oci_manifest,
    without,
)

SIGNATURE_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json"

# --- valid manifests ---------------------------------------------------------------------------

VALID: list[Any] = [
    pytest.param(oci_manifest(), OCI_MANIFEST, OCI_MANIFEST, id="oci-manifest"),
    pytest.param(oci_index(), OCI_INDEX, OCI_INDEX, id="oci-index"),
    pytest.param(docker_manifest(), DOCKER_MANIFEST, DOCKER_MANIFEST, id="docker-schema2"),
    pytest.param(docker_list(), DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_LIST, id="docker-list"),
    pytest.param(
        oci_manifest(
            artifactType=SIGNATURE_TYPE,
            config=desc(OCI_EMPTY, "empty", size=2),
            layers=[desc(OCI_EMPTY, "empty", size=2)],
        ),
        OCI_MANIFEST,
        OCI_MANIFEST,
        id="oci-artifact-empty-config",
    ),
    pytest.param(
        oci_manifest(artifactType=SIGNATURE_TYPE, layers=[]),
        OCI_MANIFEST,
        OCI_MANIFEST,
        id="oci-artifact-no-layers",
    ),
    pytest.param(
        without(oci_manifest(artifactType=SIGNATURE_TYPE), "layers"),
        OCI_MANIFEST,
        OCI_MANIFEST,
        id="oci-layers-absent",
    ),
    pytest.param(
        oci_manifest(subject=desc(OCI_MANIFEST, "subject", 500)),
        OCI_MANIFEST,
        OCI_MANIFEST,
        id="manifest-with-subject",
    ),
    pytest.param(
        oci_index(subject=desc(OCI_MANIFEST, "subject"), artifactType=SIGNATURE_TYPE),
        OCI_INDEX,
        OCI_INDEX,
        id="index-with-subject",
    ),
    pytest.param(without(oci_manifest(), "mediaType"), OCI_MANIFEST, OCI_MANIFEST, id="ct-only"),
    pytest.param(without(oci_manifest(), "mediaType"), None, OCI_MANIFEST, id="structure-image"),
    pytest.param(without(oci_index(), "mediaType"), None, OCI_INDEX, id="structure-index"),
    pytest.param(
        without(oci_index(), "mediaType"), "application/json", OCI_INDEX, id="structure-json-ct"
    ),
    pytest.param(oci_manifest(), None, OCI_MANIFEST, id="no-content-type"),
    pytest.param(oci_manifest(), "", OCI_MANIFEST, id="empty-content-type"),
    pytest.param(oci_manifest(), "application/json", OCI_MANIFEST, id="json-content-type"),
    pytest.param(oci_manifest(), "application/octet-stream", OCI_MANIFEST, id="octet-stream"),
    pytest.param(
        oci_manifest(), f" {OCI_MANIFEST.upper()} ; charset=utf-8", OCI_MANIFEST, id="ct-params"
    ),
    pytest.param(
        oci_manifest(layers=[desc(OCI_LAYER_GZIP, "x") | {"digest": digest_of("x", "sha512")}]),
        OCI_MANIFEST,
        OCI_MANIFEST,
        id="sha512-layer",
    ),
    pytest.param(
        oci_manifest(annotations={"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}),
        None,
        OCI_MANIFEST,
        id="annotations",
    ),
    pytest.param(
        oci_manifest(annotations=None, subject=None, artifactType=None),
        None,
        OCI_MANIFEST,
        id="null-optional-fields",
    ),
    pytest.param(
        oci_manifest(future={"field": [1, 2.5, True, None]}), None, OCI_MANIFEST, id="unknown-field"
    ),
    pytest.param(
        oci_manifest(config=desc(OCI_CONFIG, "c", data="e30=")), None, OCI_MANIFEST, id="data"
    ),
    pytest.param(
        docker_manifest(
            layers=[desc(DOCKER_FOREIGN_LAYER, "win", urls=["https://example.com/layer"])]
        ),
        None,
        DOCKER_MANIFEST,
        id="docker-foreign-layer",
    ),
    pytest.param(
        oci_index(
            manifests=[
                desc(
                    OCI_MANIFEST,
                    "win",
                    platform={
                        "architecture": "amd64",
                        "os": "windows",
                        "os.version": "10.0.17763.1879",
                        "os.features": ["win32k"],
                        "variant": "v3",
                    },
                )
            ]
        ),
        None,
        OCI_INDEX,
        id="full-platform",
    ),
    pytest.param(oci_index(manifests=[]), None, OCI_INDEX, id="empty-index"),
]


@pytest.mark.parametrize(("doc", "content_type", "media_type"), VALID)
def test_valid_manifests_parse(doc: JSON, content_type: str | None, media_type: str) -> None:
    content = encode(doc)
    m = parse_manifest(content, content_type)
    assert m.media_type == media_type
    # The type is recoverable from the stored bytes alone.
    assert parse_manifest(content, None) == m
    assert m.digest == Digest.from_bytes(content)
    assert m.size == len(content)
    assert m.is_index == ("manifests" in doc)
    if m.is_index:
        assert m.config is None
        assert m.layers == ()
        assert [str(d.digest) for d in m.manifests] == [e["digest"] for e in doc["manifests"]]
    else:
        assert m.config is not None
        assert str(m.config.digest) == doc["config"]["digest"]
        assert [str(d.digest) for d in m.layers] == [e["digest"] for e in doc.get("layers") or []]
        assert m.manifests == ()
    assert (m.subject is None) == (doc.get("subject") is None)
    assert m.annotations == doc.get("annotations")


def test_duplicate_keys_last_wins() -> None:
    # RFC 8259 §4 leaves duplicates to the parser; like Go's encoding/json, the last one wins.
    content = b'{"mediaType": "bogus", "layers": 5, ' + encode(oci_manifest())[1:]
    m = parse_manifest(content, None)
    assert m.media_type == OCI_MANIFEST
    assert len(m.layers) == 2


def test_digest_is_over_exact_bytes_with_algorithm() -> None:
    compact = json.dumps(oci_manifest(), separators=(",", ":")).encode()
    pretty = json.dumps(oci_manifest(), indent=3).encode()
    a, b = parse_manifest(compact, None), parse_manifest(pretty, None)
    assert a.digest != b.digest
    assert a.layers == b.layers
    c = parse_manifest(pretty, None, algorithm="sha512")
    assert c.digest == Digest.from_bytes(pretty, "sha512")
    assert c.digest.algorithm == "sha512"


def test_depth_limit_is_exact() -> None:
    # The top-level object is level 1, so MAX_DEPTH - 1 nested arrays reach exactly MAX_DEPTH.
    ok = oci_manifest(x=json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)))
    assert parse_manifest(encode(ok), None).media_type == OCI_MANIFEST
    deep = oci_manifest(x=json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH))
    with pytest.raises(ManifestInvalid, match="nested deeper than 64"):
        parse_manifest(encode(deep), None)


# --- references, artifact type, descriptor ---------------------------------------------------


def test_references_of_image_are_config_then_layers() -> None:
    m = parse_manifest(encode(oci_manifest()), None)
    assert m.config is not None
    assert m.references == (m.config, *m.layers)


def test_references_of_index_are_children() -> None:
    m = parse_manifest(encode(oci_index()), None)
    assert m.references == m.manifests
    assert len(m.references) == 2


def test_references_exclude_foreign_layers_with_urls_only() -> None:
    doc = docker_manifest(
        layers=[
            desc(DOCKER_LAYER, "normal"),
            desc(DOCKER_FOREIGN_LAYER, "foreign", urls=["https://example.com/f"]),
            desc(DOCKER_FOREIGN_LAYER, "foreign-no-urls"),
            desc(OCI_LAYER_NONDISTRIBUTABLE_GZIP, "nondist", urls=["https://example.com/n"]),
            desc(OCI_LAYER_GZIP, "normal-with-urls", urls=["https://example.com/x"]),
        ]
    )
    m = parse_manifest(encode(doc), None)
    refs = {str(d.digest) for d in m.references}
    assert refs == {
        digest_of(s) for s in ("config", "normal", "foreign-no-urls", "normal-with-urls")
    }
    assert m.layers[1].urls == ("https://example.com/f",)


def test_subject_is_not_a_reference() -> None:
    m = parse_manifest(encode(oci_manifest(subject=desc(OCI_MANIFEST, "subject"))), None)
    assert m.subject is not None
    assert m.subject not in m.references


@pytest.mark.parametrize(
    ("doc", "artifact_type"),
    [
        pytest.param(oci_manifest(), OCI_CONFIG, id="image-config-type"),
        pytest.param(docker_manifest(), DOCKER_CONFIG, id="docker-config-type"),
        pytest.param(oci_manifest(artifactType=SIGNATURE_TYPE), SIGNATURE_TYPE, id="explicit"),
        pytest.param(
            oci_manifest(config=desc(OCI_EMPTY, "e", 2)), OCI_EMPTY, id="empty-config-no-type"
        ),
        pytest.param(oci_index(), None, id="index-without"),
        pytest.param(oci_index(artifactType=SIGNATURE_TYPE), SIGNATURE_TYPE, id="index-explicit"),
    ],
)
def test_artifact_type(doc: JSON, artifact_type: str | None) -> None:
    assert parse_manifest(encode(doc), None).artifact_type == artifact_type


def test_descriptor_is_the_referrers_entry() -> None:
    doc = oci_manifest(
        artifactType=SIGNATURE_TYPE,
        annotations={"k": "v"},
        subject=desc(OCI_MANIFEST, "subject"),
    )
    content = encode(doc)
    m = parse_manifest(content, None)
    d = m.descriptor()
    assert d == Descriptor(Digest.from_bytes(content), len(content), OCI_MANIFEST, SIGNATURE_TYPE)
    assert d.annotations == {"k": "v"}
    assert d.to_json() == {
        "mediaType": OCI_MANIFEST,
        "digest": str(m.digest),
        "size": len(content),
        "artifactType": SIGNATURE_TYPE,
        "annotations": {"k": "v"},
    }


def test_index_entries_keep_platform() -> None:
    m = parse_manifest(encode(oci_index()), None)
    assert m.manifests[0].platform == {"architecture": "amd64", "os": "linux"}
    assert m.manifests[0].to_json()["platform"] == {"architecture": "amd64", "os": "linux"}
