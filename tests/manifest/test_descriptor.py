"""Descriptor rendering and identity."""

from __future__ import annotations

from cargohold.manifest import DEFAULT_MEDIA_TYPE, DOCKER_FOREIGN_LAYER, Descriptor
from cargohold.reference import Digest

D = Digest.from_bytes(b"x")


def test_minimal_descriptor_json() -> None:
    d = Descriptor(D, 1)
    assert d.media_type == DEFAULT_MEDIA_TYPE
    assert d.to_json() == {"mediaType": DEFAULT_MEDIA_TYPE, "digest": str(D), "size": 1}


def test_optional_fields_render_when_set() -> None:
    d = Descriptor(
        D,
        5,
        DOCKER_FOREIGN_LAYER,
        annotations={"a": "b"},
        urls=("https://example.com/l",),
        platform={"os": "windows"},
    )
    assert d.to_json() == {
        "mediaType": DOCKER_FOREIGN_LAYER,
        "digest": str(D),
        "size": 5,
        "urls": ["https://example.com/l"],
        "annotations": {"a": "b"},
        "platform": {"os": "windows"},
    }


def test_identity_ignores_annotations_urls_platform() -> None:
    plain = Descriptor(D, 1, DOCKER_FOREIGN_LAYER)
    rich = Descriptor(D, 1, DOCKER_FOREIGN_LAYER, annotations={"a": "b"}, urls=("u",), platform={})
    assert plain == rich
    assert hash(plain) == hash(rich)
    assert {plain, rich} == {plain}
    assert Descriptor(D, 2, DOCKER_FOREIGN_LAYER) != plain
