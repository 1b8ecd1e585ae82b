"""Hostile manifest pushes: malformed, not manifests, wrong types, lying references and sizes,
too large or too deep. Each is refused with the spec's code and stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.hardening.rawhttp import (
    CONFIG,
    LAYER,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    Case,
    Live,
    descriptor,
    request,
    run_case,
    sha256,
)

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MAX = 4 * 1024 * 1024


def doc(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, CONFIG),
        "layers": [descriptor(OCI_LAYER, LAYER)],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def put(cid: str, body: bytes, status: int, code: str, says: str = "", **kw: Any) -> Case:
    content_type = kw.pop("content_type", OCI_MANIFEST)
    reference = kw.pop("reference", "hostile")
    headers = {"Content-Type": content_type} if content_type else {}
    return Case(
        cid,
        request("PUT", f"/v2/{{repo}}/manifests/{reference}", headers, body),
        status,
        code,
        says,
        **kw,
    )


def invalid(cid: str, value: Any, says: str = "", **kw: Any) -> Case:
    body = value if isinstance(value, bytes) else json.dumps(value).encode()
    return put(cid, body, 400, "MANIFEST_INVALID", says, **kw)


ABSENT = f"sha256:{'0' * 64}"
ONLY_ELSEWHERE = b"a blob pushed to other/repo only"


def syntax_cases() -> list[Case]:
    return [
        invalid("empty", b""),
        invalid("whitespace", b"   \n"),
        invalid("truncated-json", json.dumps(doc()).encode()[:-5]),
        invalid("trailing-garbage", json.dumps(doc()).encode() + b"}"),
        invalid("not-utf8", b'{"schemaVersion": 2, "x": "\xff\xfe"}'),
        invalid("utf16", json.dumps(doc()).encode("utf-16")),
        invalid("nul", b"\x00" * 64),
        invalid("array", b"[]"),
        invalid("null", b"null"),
        invalid("number", b"42"),
        invalid("string", b'"manifest"'),
        invalid("true", b"true"),
        invalid("nan", b'{"schemaVersion": NaN}'),
        invalid("deeply-nested-arrays", b"[" * 100_000 + b"]" * 100_000),
        invalid("deeply-nested-objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        invalid("nested-annotations", doc(annotations={"a": {"b": {"c": "d"}}})),
        invalid("huge-number", b'{"schemaVersion": 2' + b"0" * 5000 + b"}"),
        invalid("html", b"<html><body>not a manifest</body></html>"),
        invalid("yaml", b"schemaVersion: 2\nmediaType: x\n"),
    ]


def shape_cases() -> list[Case]:
    layer = descriptor(OCI_LAYER, LAYER)
    return [
        invalid("not-a-manifest", {"foo": "bar"}),
        invalid("empty-object", {}),
        invalid("schema-version-1-oci", doc(schemaVersion=1)),
        invalid("schema-version-3", doc(schemaVersion=3)),
        invalid("schema-version-string", doc(schemaVersion="2")),
        invalid("schema-version-float", doc(schemaVersion=2.5)),
        invalid("schema-version-missing", doc(schemaVersion=None)),
        invalid("schema-version-bool", doc(schemaVersion=True)),
        invalid("layers-string", doc(layers="x")),
        invalid("layers-object", doc(layers={"0": layer})),
        invalid("layers-of-strings", doc(layers=["sha256:x"])),
        invalid("config-list", doc(config=[])),
        invalid("config-missing", doc(config=None)),
        invalid(
            "config-null",
            b'{"schemaVersion":2,"mediaType":"%s","config":null,"layers":[]}'
            % OCI_MANIFEST.encode(),
        ),
        invalid("size-string", doc(config={**descriptor(OCI_CONFIG, CONFIG), "size": "37"})),
        invalid("size-negative", doc(config={**descriptor(OCI_CONFIG, CONFIG), "size": -1})),
        invalid("size-float", doc(config={**descriptor(OCI_CONFIG, CONFIG), "size": 37.5})),
        invalid("size-huge", doc(config={**descriptor(OCI_CONFIG, CONFIG), "size": 10**30})),
        invalid("size-bool", doc(config={**descriptor(OCI_CONFIG, CONFIG), "size": True})),
        invalid("digest-number", doc(config={**descriptor(OCI_CONFIG, CONFIG), "digest": 5})),
        invalid(
            "digest-malformed", doc(config={**descriptor(OCI_CONFIG, CONFIG), "digest": "sha256:x"})
        ),
        invalid(
            "digest-unknown-algorithm",
            doc(config={**descriptor(OCI_CONFIG, CONFIG), "digest": "md5:" + "0" * 32}),
        ),
        invalid(
            "media-type-number", doc(config={**descriptor(OCI_CONFIG, CONFIG), "mediaType": 7})
        ),
        invalid(
            "media-type-malformed",
            doc(config={**descriptor(OCI_CONFIG, CONFIG), "mediaType": "not a type"}),
        ),
        invalid("manifest-media-type-number", doc(mediaType=12)),
        invalid("annotations-not-strings", doc(annotations={"a": 1})),
        invalid("annotations-list", doc(annotations=["a"])),
        invalid("index-with-layers", doc(mediaType=OCI_INDEX, manifests=[])),
        invalid(
            "schema1",
            {"schemaVersion": 1, "name": "x", "tag": "y", "fsLayers": []},
            content_type="application/vnd.docker.distribution.manifest.v1+prettyjws",
        ),
    ]


def media_type_cases() -> list[Case]:
    body = json.dumps(doc()).encode()
    return [
        invalid("content-type-index-body-manifest", body, content_type=OCI_INDEX),
        invalid("content-type-docker-body-oci", body, content_type=DOCKER_MANIFEST),
        invalid(
            "body-docker-content-type-oci", json.dumps(doc(mediaType=DOCKER_MANIFEST)).encode()
        ),
        invalid(
            "unknown-media-type",
            json.dumps(doc(mediaType="application/x-unknown")).encode(),
            content_type="application/x-unknown",
        ),
        invalid("content-type-garbage", body, content_type="\u00e9\u00e9/\u00e9"),
    ]


def reference_cases() -> list[Case]:
    lying = descriptor(OCI_LAYER, LAYER)
    return [
        put(
            "missing-layer",
            json.dumps(
                doc(layers=[{"mediaType": OCI_LAYER, "digest": ABSENT, "size": 1}])
            ).encode(),
            400,
            "MANIFEST_BLOB_UNKNOWN",
            ABSENT,
        ),
        put(
            "missing-config",
            json.dumps(doc(config={"mediaType": OCI_CONFIG, "digest": ABSENT, "size": 1})).encode(),
            400,
            "MANIFEST_BLOB_UNKNOWN",
        ),
        put(
            "foreign-blob",
            json.dumps(doc(layers=[descriptor(OCI_LAYER, ONLY_ELSEWHERE)])).encode(),
            400,
            "MANIFEST_BLOB_UNKNOWN",
        ),
        put(
            "index-missing-child",
            json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": [{"mediaType": OCI_MANIFEST, "digest": ABSENT, "size": 10}],
                }
            ).encode(),
            400,
            "MANIFEST_BLOB_UNKNOWN",
            content_type=OCI_INDEX,
        ),
        put(
            "index-child-is-a-layer",
            json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": [
                        {"mediaType": OCI_MANIFEST, "digest": sha256(LAYER), "size": len(LAYER)}
                    ],
                }
            ).encode(),
            400,
            "MANIFEST_BLOB_UNKNOWN",
            content_type=OCI_INDEX,
        ),
        invalid("lying-layer-size", doc(layers=[{**lying, "size": len(LAYER) + 1}]), "bytes"),
        invalid(
            "lying-config-size", doc(config={**descriptor(OCI_CONFIG, CONFIG), "size": 1}), "bytes"
        ),
        invalid("lying-zero-size", doc(layers=[{**lying, "size": 0}])),
    ]


def size_and_digest_cases() -> list[Case]:
    body = json.dumps(doc()).encode()
    padded = json.dumps(doc(annotations={"pad": "x" * MAX})).encode()
    return [
        put("over-4mib", padded, 413, "MANIFEST_INVALID", "limit"),
        Case(
            "over-4mib-declared-only",
            request(
                "PUT",
                "/v2/{repo}/manifests/big",
                {"Content-Type": OCI_MANIFEST, "Content-Length": str(MAX + 1)},
                b"{}",
            ),
            413,
            "MANIFEST_INVALID",
        ),
        put(
            "digest-reference-mismatch",
            body,
            400,
            "DIGEST_INVALID",
            "does not match",
            reference=sha256(b"other"),
        ),
        put(
            "digest-reference-totallywrong",
            body,
            400,
            "DIGEST_INVALID",
            reference="sha256:totallywrong",
        ),
        put(
            "digest-reference-sha512-mismatch",
            body,
            400,
            "DIGEST_INVALID",
            reference="sha512:" + "0" * 128,
        ),
        Case(
            "body-shorter-than-declared",
            request(
                "PUT",
                "/v2/{repo}/manifests/cut",
                {"Content-Type": OCI_MANIFEST, "Content-Length": str(len(body) + 10)},
                body,
            ),
            None,
            half_close=True,
        ),
        Case(
            "chunked-malformed",
            request(
                "PUT",
                "/v2/{repo}/manifests/cut",
                {"Content-Type": OCI_MANIFEST, "Transfer-Encoding": "chunked"},
                b"zz\r\n{}\r\n0\r\n\r\n",
            ),
            None,
        ),
    ]


CASES = (
    syntax_cases()
    + shape_cases()
    + media_type_cases()
    + reference_cases()
    + size_and_digest_cases()
)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_hostile_manifest(seeded: Live, case: Case) -> None:
    from tests.hardening.rawhttp import send

    # A blob that exists, but only in another repository (for "foreign-blob").
    resp = await send(
        seeded,
        request(
            "POST",
            f"/v2/other/repo/blobs/uploads/?digest={sha256(ONLY_ELSEWHERE)}",
            body=ONLY_ELSEWHERE,
        ),
    )
    assert resp is not None
    assert resp.status == 201
    await run_case(seeded, case)
