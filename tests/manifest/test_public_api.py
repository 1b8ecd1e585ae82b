"""The package's public names are pinned and sorted."""

from __future__ import annotations

import cargohold.manifest


def test_all_is_sorted_and_resolvable() -> None:
    names = cargohold.manifest.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), n[:1].islower(), n))
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(cargohold.manifest, name)


def test_public_api_is_pinned() -> None:
    assert {
        "Descriptor",
        "Manifest",
        "acceptable",
        "is_valid_media_type",
        "normalize_content_type",
        "parse_manifest",
        "referrers_index",
    } <= set(cargohold.manifest.__all__)
