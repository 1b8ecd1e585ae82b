"""Media type constants, Content-Type normalization and RFC 6838 syntax."""

from __future__ import annotations

import pytest

from cargohold.manifest import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    IMAGE_MANIFEST_TYPES,
    INDEX_TYPES,
    MANIFEST_TYPES,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    is_valid_media_type,
    normalize_content_type,
)


def test_manifest_type_sets() -> None:
    assert OCI_MANIFEST == "application/vnd.oci.image.manifest.v1+json"
    assert OCI_INDEX == "application/vnd.oci.image.index.v1+json"
    assert DOCKER_MANIFEST == "application/vnd.docker.distribution.manifest.v2+json"
    assert DOCKER_MANIFEST_LIST == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert OCI_EMPTY == "application/vnd.oci.empty.v1+json"
    assert sorted(MANIFEST_TYPES) == sorted(
        [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST]
    )
    assert sorted(INDEX_TYPES) == sorted([OCI_INDEX, DOCKER_MANIFEST_LIST])
    assert IMAGE_MANIFEST_TYPES == MANIFEST_TYPES - INDEX_TYPES


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        (";charset=utf-8", None),
        (OCI_MANIFEST, OCI_MANIFEST),
        (f"  {OCI_MANIFEST}  ", OCI_MANIFEST),
        (OCI_MANIFEST.upper(), OCI_MANIFEST),
        (f"{OCI_INDEX}; charset=utf-8", OCI_INDEX),
        ("Application/JSON ;q=1", "application/json"),
    ],
)
def test_normalize_content_type(value: str | None, expected: str | None) -> None:
    assert normalize_content_type(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        OCI_MANIFEST,
        "application/json",
        "text/plain",
        "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        "Application/JSON",
        "a/b",
        "x-foo/bar!#$&^_.+-baz",
        "a/" + "b" * 127,
    ],
)
def test_valid_media_types(value: str) -> None:
    assert is_valid_media_type(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "application",
        "application/",
        "/json",
        "application/json; charset=utf-8",
        " application/json",
        "application/json ",
        "application/json\n",
        "application//json",
        "application/json/x",
        "-app/json",
        "app/.json",
        "app/js on",
        "app/jsön",
        "*/*",
        "a/" + "b" * 128,
        "a" * 128 + "/b",
    ],
)
def test_invalid_media_types(value: str) -> None:
    assert not is_valid_media_type(value)
