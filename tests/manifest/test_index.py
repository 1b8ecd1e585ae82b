"""The referrers response index."""

from __future__ import annotations

import json

from cargohold.manifest import OCI_INDEX, OCI_MANIFEST, Descriptor, parse_manifest, referrers_index
from cargohold.reference import Digest

SIG = "application/vnd.example.sig.v1+json"


def test_empty_referrers_index() -> None:
    out = referrers_index([])
    assert out == (
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
    )
    assert parse_manifest(out, OCI_INDEX).manifests == ()


def test_referrers_index_keeps_order_and_fields() -> None:
    a = Descriptor(Digest.from_bytes(b"a"), 1, OCI_MANIFEST, SIG, {"k": "v\u00e9"})
    b = Descriptor(Digest.from_bytes(b"b"), 2, OCI_MANIFEST)
    out = referrers_index([a, b])
    assert b" " not in out
    assert out.isascii()
    doc = json.loads(out)
    assert doc["manifests"] == [a.to_json(), b.to_json()]
    assert doc["manifests"][0]["annotations"] == {"k": "v\u00e9"}
    assert "artifactType" not in doc["manifests"][1]
    parsed = parse_manifest(out, OCI_INDEX)
    assert parsed.manifests == (a, b)
    assert parsed.manifests[0].annotations == {"k": "v\u00e9"}
