"""Accept-header negotiation for manifest GETs."""

from __future__ import annotations

import pytest

from cargohold.manifest import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, acceptable

DOCKER_ALL = (
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json"
)


@pytest.mark.parametrize(
    ("media_type", "headers", "expected"),
    [
        pytest.param(OCI_MANIFEST, [], True, id="no-accept"),
        pytest.param(OCI_MANIFEST, [""], True, id="blank-accept"),
        pytest.param(OCI_MANIFEST, ["*/*"], True, id="wildcard"),
        pytest.param(OCI_MANIFEST, ["application/*"], True, id="type-wildcard"),
        pytest.param(OCI_MANIFEST, ["text/*"], False, id="other-type-wildcard"),
        pytest.param(OCI_MANIFEST, [OCI_MANIFEST], True, id="exact"),
        pytest.param(OCI_MANIFEST, [OCI_MANIFEST.upper()], True, id="case-insensitive"),
        pytest.param(OCI_MANIFEST, [OCI_INDEX], False, id="other-type"),
        pytest.param(OCI_MANIFEST, [DOCKER_ALL], False, id="docker-only-client"),
        pytest.param(DOCKER_MANIFEST, [DOCKER_ALL], True, id="list-in-one-header"),
        pytest.param(OCI_MANIFEST, [DOCKER_MANIFEST, OCI_MANIFEST], True, id="repeated-headers"),
        pytest.param(OCI_MANIFEST, [f"{OCI_INDEX},{OCI_MANIFEST}"], True, id="no-space"),
        pytest.param(OCI_MANIFEST, [f" {OCI_MANIFEST} ; q=0.5 "], True, id="q-half"),
        pytest.param(OCI_MANIFEST, [f"{OCI_MANIFEST};q=0"], False, id="q-zero"),
        pytest.param(OCI_MANIFEST, [f"{OCI_MANIFEST};q=0.000"], False, id="q-zero-000"),
        pytest.param(OCI_MANIFEST, [f"{OCI_MANIFEST};q=1.0"], True, id="q-one"),
        pytest.param(OCI_MANIFEST, [f"*/*, {OCI_MANIFEST};q=0"], False, id="specific-refusal"),
        pytest.param(OCI_MANIFEST, [f"*/*;q=0, {OCI_MANIFEST}"], True, id="specific-beats-star"),
        pytest.param(OCI_MANIFEST, ["application/*;q=0, */*"], False, id="type-beats-star"),
        pytest.param(OCI_MANIFEST, [f"{OCI_MANIFEST};q=0", OCI_MANIFEST], True, id="dup-any-ok"),
        pytest.param(OCI_MANIFEST, [f"{OCI_MANIFEST};charset=utf-8"], True, id="params"),
        pytest.param(OCI_MANIFEST, [f"{OCI_MANIFEST};q=0;ext=1"], False, id="accept-ext"),
        pytest.param(OCI_MANIFEST, [f"{OCI_MANIFEST};q=2"], True, id="bad-q-ignored-nothing"),
        pytest.param(OCI_MANIFEST, [f"{OCI_INDEX}, {OCI_MANIFEST};q=abc"], False, id="bad-q-skip"),
        pytest.param(OCI_MANIFEST, ["garbage"], True, id="unparseable-is-absent"),
        pytest.param(OCI_MANIFEST, ["*/json"], True, id="invalid-range-skipped"),
        pytest.param(OCI_MANIFEST, ["garbage, text/plain"], False, id="garbage-and-range"),
    ],
)
def test_acceptable(media_type: str, headers: list[str], expected: bool) -> None:
    assert acceptable(media_type, headers) is expected
