"""Property tests: parse_manifest is total (only ManifestInvalid escapes) and round-trips valid input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cargohold.errors import ManifestInvalid
from cargohold.manifest import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    FOREIGN_LAYER_TYPES,
    INDEX_TYPES,
    MANIFEST_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    parse_manifest,
)
from cargohold.reference import Digest
from tests.manifest.builders import oci_index, oci_manifest

# No deadline: these assert behaviour, not speed (no timing thresholds in tests).
PROPERTY = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])

KEYS = [
    "schemaVersion",
    "mediaType",
    "config",
    "layers",
    "manifests",
    "subject",
    "artifactType",
    "annotations",
    "digest",
    "size",
    "urls",
    "platform",
    "data",
    "architecture",
    "os",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from([*sorted(MANIFEST_TYPES), "sha256:" + "a" * 64, 2, 1, -1])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=30,
)
content_types = st.none() | st.sampled_from(
    [*sorted(MANIFEST_TYPES), "application/json", "", "text/plain; charset=utf-8"]
)


def parse_or_reject(content: bytes, content_type: str | None) -> Manifest | None:
    """Parse, turning the one allowed exception into None; anything else fails the test."""
    error: ManifestInvalid | None = None
    try:
        return parse_manifest(content, content_type)
    except ManifestInvalid as exc:
        error = exc
    assert error is not None
    assert error.message
    assert isinstance(error.detail, dict)
    return None


@PROPERTY
@given(content=st.binary(max_size=2048), content_type=content_types)
def test_arbitrary_bytes_raise_only_manifest_invalid(
    content: bytes, content_type: str | None
) -> None:
    parse_or_reject(content, content_type)


@PROPERTY
@given(doc=json_values, content_type=content_types)
def test_arbitrary_json_raises_only_manifest_invalid(doc: Any, content_type: str | None) -> None:
    m = parse_or_reject(json.dumps(doc).encode(), content_type)
    if m is not None:
        assert m.media_type in MANIFEST_TYPES


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[path[0]] = _replace(doc[path[0]], path[1:], value)
    return copy


@PROPERTY
@given(data=st.data(), base=st.sampled_from([oci_manifest(), oci_index()]))
def test_mutated_valid_manifests_raise_only_manifest_invalid(
    data: st.DataObject, base: Any
) -> None:
    path = data.draw(st.sampled_from(_paths(base)))
    mutated = _replace(base, path, data.draw(json_values))
    parse_or_reject(json.dumps(mutated).encode(), data.draw(content_types))


@PROPERTY
@given(content=st.binary(max_size=64), cut=st.integers(min_value=0, max_value=400))
def test_truncated_and_spliced_manifests_raise_only_manifest_invalid(
    content: bytes, cut: int
) -> None:
    valid = json.dumps(oci_manifest()).encode()
    parse_or_reject(valid[:cut] + content + valid[cut:], None)


# --- round trip of generated valid manifests ---------------------------------------------------

# Built rather than st.from_regex, which is slow to draw from.
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
media_types = st.builds(
    "{}/{}{}".format,
    st.sampled_from(["application", "text", "image", "x-custom"]),
    st.sampled_from(_ALNUM),
    st.text(alphabet=_ALNUM + ".+-", max_size=20),
)
# Non-empty when present: Descriptor.to_json omits empty maps and lists.
annotation_maps = st.none() | st.dictionaries(
    st.text(max_size=10), st.text(max_size=10), min_size=1, max_size=3
)


@st.composite
def descriptors(draw: st.DrawFn, media_type: st.SearchStrategy[str] = media_types) -> Any:
    algorithm = draw(st.sampled_from(["sha256", "sha512"]))
    d: dict[str, Any] = {
        "mediaType": draw(media_type),
        "digest": str(Digest.from_bytes(draw(st.binary(max_size=8)), algorithm)),
        "size": draw(st.integers(min_value=0, max_value=2**63 - 1)),
    }
    ann = draw(annotation_maps)
    if ann is not None:
        d["annotations"] = ann
    if draw(st.booleans()):
        d["urls"] = draw(st.lists(st.text(max_size=10), min_size=1, max_size=2))
    if draw(st.booleans()):
        d["artifactType"] = draw(media_types)
    return d


@st.composite
def manifests(draw: st.DrawFn) -> Any:
    media_type = draw(st.sampled_from(sorted(MANIFEST_TYPES)))
    doc: dict[str, Any] = {"schemaVersion": 2}
    if media_type in INDEX_TYPES:
        entries = draw(st.lists(descriptors(), max_size=4))
        for entry in entries:
            if draw(st.booleans()):
                entry["platform"] = {"architecture": "amd64", "os": draw(st.text(max_size=5))}
        doc["manifests"] = entries
    else:
        doc["config"] = draw(descriptors())
        doc["layers"] = draw(
            st.lists(
                descriptors(media_types | st.sampled_from(sorted(FOREIGN_LAYER_TYPES))),
                max_size=5,
            )
        )
    if media_type != OCI_MANIFEST or draw(st.booleans()):
        # An OCI manifest may omit mediaType; every other type must declare it (or use a CT).
        doc["mediaType"] = media_type
    if draw(st.booleans()):
        doc["subject"] = draw(descriptors())
    if draw(st.booleans()):
        doc["artifactType"] = draw(media_types)
    ann = draw(annotation_maps)
    if ann is not None:
        doc["annotations"] = ann
    return doc


@PROPERTY
@given(
    doc=manifests(),
    indent=st.none() | st.integers(min_value=0, max_value=4),
    generic_ct=st.sampled_from([None, "", "application/json", "application/octet-stream"]),
)
def test_generated_valid_manifests_round_trip(
    doc: dict[str, Any], indent: int | None, generic_ct: str | None
) -> None:
    content = json.dumps(doc, indent=indent).encode()
    expected_type = doc.get("mediaType", OCI_MANIFEST)
    for content_type in (generic_ct, expected_type, f"{expected_type.upper()}; v=1"):
        m = parse_manifest(content, content_type)
        assert m.media_type == expected_type
        assert m.digest == Digest.from_bytes(content)
        assert m.size == len(content)
        assert m.is_index == (expected_type in (OCI_INDEX, DOCKER_MANIFEST_LIST))
        assert m.annotations == doc.get("annotations")
        if m.is_index:
            assert [d.to_json() for d in m.manifests] == doc["manifests"]
            assert m.references == m.manifests
            assert m.artifact_type == doc.get("artifactType")
        else:
            assert m.config is not None
            assert m.config.to_json() == doc["config"]
            assert [d.to_json() for d in m.layers] == doc["layers"]
            assert m.artifact_type == doc.get("artifactType", doc["config"]["mediaType"])
            fetched_elsewhere = [
                d.media_type in FOREIGN_LAYER_TYPES and bool(d.urls) for d in m.layers
            ]
            assert m.references == (
                m.config,
                *(d for d, skip in zip(m.layers, fetched_elsewhere, strict=True) if not skip),
            )
        if "subject" in doc:
            assert m.subject is not None
            assert m.subject.to_json() == doc["subject"]
        assert m.descriptor().to_json()["digest"] == str(m.digest)
        assert parse_manifest(content, None) == m


@PROPERTY
@given(doc=manifests())
def test_without_media_type_only_oci_types_are_accepted(doc: dict[str, Any]) -> None:
    # Structure (or an OCI Content-Type) can name the OCI types; Docker types must declare theirs.
    bare = json.dumps({k: v for k, v in doc.items() if k != "mediaType"}).encode()
    m = parse_manifest(bare, None)
    assert m.media_type == (OCI_INDEX if "manifests" in doc else OCI_MANIFEST)
    assert parse_manifest(bare, m.media_type) == m
    for docker_type in (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST):
        with pytest.raises(ManifestInvalid, match="is required in the body"):
            parse_manifest(bare, docker_type)
