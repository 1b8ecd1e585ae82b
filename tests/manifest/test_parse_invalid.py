"""Table-driven tests of every way a manifest is rejected, and of the message explaining why."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cargohold.errors import ManifestInvalid
from cargohold.manifest import (
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_SCHEMA1,
    DOCKER_SCHEMA1_SIGNED,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    parse_manifest,
)
from tests.manifest.builders import (
    desc,
    digest_of,
    docker_list,
    docker_manifest,
    encode,
    oci_index,
    oci_manifest,
    without,
)

SCHEMA1 = "schema1 manifests are not supported; push schema2 or OCI"


def layer(**fields: Any) -> dict[str, Any]:
    """An OCI layer descriptor with ``fields`` overridden (None deletes a field)."""
    d = desc(OCI_LAYER_GZIP, "layer") | fields
    return {k: v for k, v in d.items() if v is not None}


def with_layer(**fields: Any) -> bytes:
    return encode(oci_manifest(layers=[layer(**fields)]))


def with_entry(**fields: Any) -> bytes:
    entry = desc(OCI_MANIFEST, "child") | fields
    return encode(oci_index(manifests=[entry]))


# (body, content type, text the message must contain, detail["field"] or None)
INVALID: list[Any] = [
    # --- not JSON, or not an object ---
    pytest.param(b"", None, "empty", None, id="empty"),
    pytest.param(b" \n\t", None, "empty", None, id="whitespace"),
    pytest.param(b"\xff\xfe{}", None, "not valid UTF-8 at byte 0", None, id="not-utf8"),
    pytest.param(
        '{"schemaVersion": 2, "x": "é"}'.encode("latin-1"), None, "UTF-8", None, id="latin1"
    ),
    pytest.param(b"not json", None, "not valid JSON", None, id="not-json"),
    pytest.param(encode(oci_manifest())[:-1], None, "not valid JSON", None, id="truncated"),
    pytest.param(encode(oci_manifest()) + b" x", None, "not valid JSON", None, id="trailing"),
    pytest.param(b"\xef\xbb\xbf" + encode(oci_manifest()), None, "JSON", None, id="bom"),
    pytest.param(b'{"schemaVersion": NaN}', None, "NaN", None, id="nan"),
    pytest.param(b'{"schemaVersion": -Infinity}', None, "Infinity", None, id="infinity"),
    pytest.param(b'{"x": ' + b"9" * 5000 + b"}", None, "JSON", None, id="huge-int"),
    pytest.param(b"[]", None, "must be a JSON object, not array", "", id="array"),
    pytest.param(b'"manifest"', None, "must be a JSON object, not string", "", id="string"),
    pytest.param(b"null", None, "must be a JSON object, not null", "", id="null"),
    pytest.param(b"2", None, "must be a JSON object, not number", "", id="number"),
    pytest.param(b"[" * 65 + b"]" * 65, None, "deeper than 64", None, id="depth-65"),
    pytest.param(b'{"a":' * 200 + b"1" + b"}" * 200, None, "deeper than 64", None, id="deep-obj"),
    pytest.param(b"[" * 100_000, None, "deeper than 64", None, id="depth-100000"),
    # --- schemaVersion and schema1 ---
    pytest.param(
        encode(without(oci_manifest(), "schemaVersion")),
        None,
        "required",
        "schemaVersion",
        id="sv-missing",
    ),
    pytest.param(
        encode(oci_manifest(schemaVersion="2")), None, "integer 2", "schemaVersion", id="sv-string"
    ),
    pytest.param(
        encode(oci_manifest(schemaVersion=True)), None, "integer 2", "schemaVersion", id="sv-bool"
    ),
    pytest.param(b'{"schemaVersion": 2.0}', None, "integer 2", "schemaVersion", id="sv-float"),
    pytest.param(
        encode(oci_manifest(schemaVersion=3)), None, "integer 2", "schemaVersion", id="sv-3"
    ),
    pytest.param(
        encode(oci_manifest(schemaVersion=None)), None, "integer 2", "schemaVersion", id="sv-null"
    ),
    pytest.param(
        json.dumps({"schemaVersion": 1, "name": "a", "tag": "b", "fsLayers": []}).encode(),
        None,
        SCHEMA1,
        None,
        id="schema1",
    ),
    pytest.param(encode(oci_manifest(mediaType=DOCKER_SCHEMA1)), None, SCHEMA1, None, id="s1-type"),
    pytest.param(
        encode(oci_manifest(mediaType=DOCKER_SCHEMA1_SIGNED)),
        None,
        SCHEMA1,
        None,
        id="s1-prettyjws",
    ),
    pytest.param(
        encode(without(oci_manifest(), "mediaType")),
        DOCKER_SCHEMA1_SIGNED,
        SCHEMA1,
        None,
        id="s1-content-type",
    ),
    # --- media type resolution ---
    pytest.param(
        encode(oci_manifest()),
        OCI_INDEX,
        "does not match the Content-Type",
        "mediaType",
        id="ct-mismatch",
    ),
    pytest.param(
        encode(oci_index()),
        DOCKER_MANIFEST_LIST,
        "does not match the Content-Type",
        "mediaType",
        id="ct-mismatch-list",
    ),
    pytest.param(
        encode(oci_manifest()),
        "text/plain",
        "does not match the Content-Type",
        "mediaType",
        id="ct-text",
    ),
    pytest.param(
        encode(without(docker_manifest(), "mediaType")),
        DOCKER_MANIFEST,
        "is required in the body of a",
        "mediaType",
        id="docker-ct-only",
    ),
    pytest.param(
        encode(without(docker_list(), "mediaType")),
        DOCKER_MANIFEST_LIST,
        "is required in the body of a",
        "mediaType",
        id="docker-list-ct-only",
    ),
    pytest.param(
        encode(oci_manifest(mediaType=5)),
        None,
        "must be a string, not number",
        "mediaType",
        id="mt-int",
    ),
    pytest.param(
        encode(oci_manifest(mediaType=OCI_CONFIG)),
        None,
        "is not a supported manifest type",
        "mediaType",
        id="mt-unknown",
    ),
    pytest.param(
        encode(oci_manifest(mediaType="")),
        None,
        "not a supported manifest type",
        "mediaType",
        id="mt-empty",
    ),
    pytest.param(
        b'{"schemaVersion": 2}',
        None,
        "identifies the manifest type",
        "mediaType",
        id="no-structure",
    ),
    pytest.param(
        b'{"schemaVersion": 2, "annotations": {}}',
        "application/json",
        "identifies the manifest type",
        "mediaType",
        id="no-structure-json-ct",
    ),
    pytest.param(
        encode(without(oci_manifest(manifests=[]), "mediaType")),
        None,
        "cannot tell an index from an image manifest",
        "",
        id="ambiguous",
    ),
    # --- structure per type ---
    pytest.param(
        encode(oci_index(config=desc(OCI_CONFIG, "c"))),
        None,
        "must not appear in an index",
        "config",
        id="index-config",
    ),
    pytest.param(
        encode(oci_index(layers=[])),
        None,
        "must not appear in an index",
        "layers",
        id="index-layers",
    ),
    pytest.param(
        encode(oci_manifest(manifests=[])),
        None,
        "must not appear in an image manifest",
        "manifests",
        id="image-manifests",
    ),
    pytest.param(
        encode(without(oci_index(), "manifests")),
        OCI_INDEX,
        "is required in an index",
        "manifests",
        id="index-no-list",
    ),
    pytest.param(
        encode(oci_index(manifests={})),
        None,
        "must be a JSON array, not object",
        "manifests",
        id="manifests-object",
    ),
    pytest.param(
        encode(oci_index(manifests=None)),
        None,
        "must be a JSON array, not null",
        "manifests",
        id="manifests-null",
    ),
    pytest.param(
        encode(oci_index(manifests=["sha256:abc"])),
        None,
        "must be a JSON object",
        "manifests[0]",
        id="entry-string",
    ),
    pytest.param(
        encode(without(oci_manifest(), "config")),
        None,
        "is required in an image manifest",
        "config",
        id="no-config",
    ),
    pytest.param(
        encode(without(docker_manifest(), "config")),
        None,
        "is required",
        "config",
        id="docker-no-config",
    ),
    pytest.param(
        encode(oci_manifest(config="sha256:abc")),
        None,
        "must be a JSON object, not string",
        "config",
        id="config-str",
    ),
    pytest.param(
        encode(oci_manifest(config=None)),
        None,
        "must be a JSON object, not null",
        "config",
        id="config-null",
    ),
    pytest.param(
        encode(oci_manifest(layers={})),
        None,
        "must be a JSON array, not object",
        "layers",
        id="layers-object",
    ),
    pytest.param(
        encode(oci_manifest(layers=[1])),
        None,
        "must be a JSON object, not number",
        "layers[0]",
        id="layer-int",
    ),
    pytest.param(
        encode(without(docker_manifest(), "layers")),
        None,
        "is required in a Docker schema2",
        "layers",
        id="docker-no-layers",
    ),
    pytest.param(
        encode(docker_manifest(layers=None)),
        None,
        "is required in a Docker schema2",
        "layers",
        id="docker-null-layers",
    ),
    # --- descriptors ---
    pytest.param(
        with_layer(mediaType=None), None, "is required", "layers[0].mediaType", id="desc-no-mt"
    ),
    pytest.param(
        with_layer(digest=None), None, "is required", "layers[0].digest", id="desc-no-digest"
    ),
    pytest.param(with_layer(size=None), None, "is required", "layers[0].size", id="desc-no-size"),
    pytest.param(
        with_layer(mediaType="layer"),
        None,
        "not a valid media type",
        "layers[0].mediaType",
        id="mt-no-slash",
    ),
    pytest.param(
        with_layer(mediaType="application/json; charset=utf-8"),
        None,
        "not a valid media type",
        "layers[0].mediaType",
        id="mt-params",
    ),
    pytest.param(
        with_layer(mediaType=""),
        None,
        "not a valid media type",
        "layers[0].mediaType",
        id="mt-blank",
    ),
    pytest.param(
        with_layer(mediaType="/json"),
        None,
        "not a valid media type",
        "layers[0].mediaType",
        id="mt-no-type",
    ),
    pytest.param(
        with_layer(mediaType=7), None, "must be a string", "layers[0].mediaType", id="mt-number"
    ),
    pytest.param(
        with_layer(digest="sha256:totallywrong"),
        None,
        "64 lowercase hex",
        "layers[0].digest",
        id="digest-wrong",
    ),
    pytest.param(
        with_layer(digest="md5:" + "a" * 32),
        None,
        "unsupported digest algorithm",
        "layers[0].digest",
        id="digest-md5",
    ),
    pytest.param(
        with_layer(digest=digest_of("x").upper().replace("SHA256", "sha256")),
        None,
        "lowercase hex",
        "layers[0].digest",
        id="digest-upper",
    ),
    pytest.param(
        with_layer(digest="a" * 64), None, "invalid digest", "layers[0].digest", id="digest-no-alg"
    ),
    pytest.param(
        with_layer(digest=digest_of("x") + "\n"),
        None,
        "invalid digest",
        "layers[0].digest",
        id="digest-newline",
    ),
    pytest.param(
        with_layer(digest=123), None, "must be a string", "layers[0].digest", id="digest-int"
    ),
    pytest.param(with_layer(size=-1), None, "non-negative", "layers[0].size", id="size-negative"),
    pytest.param(with_layer(size=True), None, "not boolean", "layers[0].size", id="size-bool"),
    pytest.param(with_layer(size=1.5), None, "not number", "layers[0].size", id="size-float"),
    pytest.param(with_layer(size="10"), None, "not string", "layers[0].size", id="size-string"),
    pytest.param(with_layer(size=2**63), None, "below 2^63", "layers[0].size", id="size-huge"),
    pytest.param(
        with_layer(urls="https://x"), None, "must be a JSON array", "layers[0].urls", id="urls-str"
    ),
    pytest.param(
        with_layer(urls=[1]), None, "must be a string", "layers[0].urls[0]", id="urls-int"
    ),
    pytest.param(
        with_layer(annotations=["a"]),
        None,
        "must be a JSON object",
        "layers[0].annotations",
        id="ann-list",
    ),
    pytest.param(
        with_layer(annotations={"a": 1}),
        None,
        "must be a string",
        "layers[0].annotations.a",
        id="ann-int",
    ),
    pytest.param(
        with_layer(annotations={"a": None}),
        None,
        "must be a string, not null",
        "layers[0].annotations.a",
        id="ann-null",
    ),
    pytest.param(
        b'{"schemaVersion":2,"config":'
        + json.dumps(desc(OCI_CONFIG, "c")).encode()
        + b',"annotations":{"k":"\\ud800"}}',
        None,
        "unpaired UTF-16 surrogate",
        "annotations.k",
        id="ann-surrogate",
    ),
    pytest.param(
        with_layer(artifactType="sig"),
        None,
        "not a valid media type",
        "layers[0].artifactType",
        id="desc-at",
    ),
    pytest.param(
        with_layer(data="not base64!"), None, "base64", "layers[0].data", id="data-invalid"
    ),
    pytest.param(with_layer(data=5), None, "must be a string", "layers[0].data", id="data-int"),
    pytest.param(
        with_entry(platform="linux/amd64"),
        None,
        "must be a JSON object",
        "manifests[0].platform",
        id="platform-str",
    ),
    pytest.param(
        with_entry(platform={"architecture": 64}),
        None,
        "must be a string",
        "manifests[0].platform.architecture",
        id="platform-arch",
    ),
    pytest.param(
        with_entry(platform={"os": "windows", "os.features": "win32k"}),
        None,
        "must be a JSON array",
        "manifests[0].platform.os.features",
        id="platform-features",
    ),
    # --- top-level optional fields ---
    pytest.param(
        encode(oci_manifest(annotations="k=v")),
        None,
        "must be a JSON object",
        "annotations",
        id="top-ann",
    ),
    pytest.param(
        encode(oci_manifest(annotations={"k": ["v"]})),
        None,
        "must be a string, not array",
        "annotations.k",
        id="top-ann-value",
    ),
    pytest.param(
        encode(oci_manifest(artifactType="signature")),
        None,
        "not a valid media type",
        "artifactType",
        id="artifact-type",
    ),
    pytest.param(
        encode(oci_manifest(artifactType=["a/b"])),
        None,
        "must be a string",
        "artifactType",
        id="artifact-type-list",
    ),
    pytest.param(
        encode(oci_manifest(subject="sha256:abc")),
        None,
        "must be a JSON object",
        "subject",
        id="subject-str",
    ),
    pytest.param(
        encode(oci_manifest(subject=without(desc(OCI_MANIFEST, "s"), "digest"))),
        None,
        "is required",
        "subject.digest",
        id="subject-no-digest",
    ),
    pytest.param(
        encode(docker_list(manifests=[desc(DOCKER_MANIFEST, "a", size=-5)])),
        None,
        "non-negative",
        "manifests[0].size",
        id="list-entry-size",
    ),
    pytest.param(
        encode(docker_manifest(layers=[desc(DOCKER_LAYER, "l") | {"digest": "sha256:"}])),
        None,
        "invalid digest",
        "layers[0].digest",
        id="docker-layer-digest",
    ),
]


@pytest.mark.parametrize(("content", "content_type", "message", "field"), INVALID)
def test_invalid_manifest_is_rejected_with_reason(
    content: bytes, content_type: str | None, message: str, field: str | None
) -> None:
    with pytest.raises(ManifestInvalid) as info:
        parse_manifest(content, content_type)
    assert message in info.value.message
    assert isinstance(info.value.detail, dict)
    if field is not None:
        assert info.value.detail["field"] == field
        if field:
            assert repr(field) in info.value.message


def test_error_message_truncates_huge_values() -> None:
    with pytest.raises(ManifestInvalid) as info:
        parse_manifest(encode(oci_manifest(mediaType="x" * 100_000)), None)
    assert len(info.value.message) < 1000


@pytest.mark.parametrize(
    ("doc", "content_type"),
    [
        ({"schemaVersion": 1, "fsLayers": []}, None),
        (oci_manifest(mediaType=DOCKER_SCHEMA1), None),
        (without(oci_manifest(), "mediaType"), DOCKER_SCHEMA1),
    ],
)
def test_schema1_is_rejected_as_such(doc: dict[str, Any], content_type: str | None) -> None:
    with pytest.raises(ManifestInvalid, match=r"^schema1 manifests are not supported") as info:
        parse_manifest(encode(doc), content_type)
    assert info.value.detail == {"reason": "schema1"}
