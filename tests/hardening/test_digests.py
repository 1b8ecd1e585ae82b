"""Hostile digests as references, ``?digest=`` and ``?mount=``: 400 DIGEST_INVALID (or 404 when
well-formed but absent), nothing stored."""

from __future__ import annotations

import pytest

from tests.hardening.rawhttp import LAYER, MANIFEST, OCI_MANIFEST, Case, Live, request, run_case

HEX = "a" * 64
BAD_DIGESTS: list[tuple[str, str]] = [
    ("totally-wrong", "sha256:totallywrong"),
    ("unknown-algorithm", f"md5:{'d' * 32}"),
    ("unknown-algorithm-long", f"sha3:{HEX}"),
    ("short", f"sha256:{'a' * 63}"),
    ("long", f"sha256:{'a' * 65}"),
    ("uppercase-hex", f"sha256:{'A' * 64}"),
    ("non-hex", f"sha256:{'g' * 64}"),
    ("uppercase-algorithm", f"SHA256:{HEX}"),
    ("missing-algorithm", f":{HEX}"),
    ("missing-hex", "sha256:"),
    ("double-colon", f"sha256::{HEX}"),
    ("sha512-short", f"sha512:{HEX}"),
    ("whitespace", f"sha256:%20{HEX[1:]}"),
    ("nul", f"sha256:{HEX[:-1]}%00"),
    ("unicode", f"sha256:{HEX[:-1]}%C3%A9"),
    ("crlf", f"sha256:{HEX[:-2]}%0d%0a"),
    ("traversal", "sha256:..%2F..%2F..%2Fetc"),
]

ABSENT = [
    ("sha256-absent", f"sha256:{'0' * 64}"),
    ("sha512-absent", f"sha512:{'0' * 128}"),
]


def _cases() -> list[Case]:
    cases: list[Case] = []
    put = {"Content-Type": OCI_MANIFEST}
    for did, digest in BAD_DIGESTS:
        cases += [
            Case(
                f"manifest-get-{did}",
                request("GET", f"/v2/{{repo}}/manifests/{digest}"),
                400,
                "DIGEST_INVALID",
                "digest",
            ),
            Case(
                f"manifest-head-{did}",
                request("HEAD", f"/v2/{{repo}}/manifests/{digest}"),
                400,
                "DIGEST_INVALID",
            ),
            Case(
                f"manifest-put-{did}",
                request("PUT", f"/v2/{{repo}}/manifests/{digest}", put, MANIFEST),
                400,
                "DIGEST_INVALID",
            ),
            Case(
                f"manifest-delete-{did}",
                request("DELETE", f"/v2/{{repo}}/manifests/{digest}"),
                400,
                "DIGEST_INVALID",
            ),
            Case(
                f"blob-get-{did}",
                request("GET", f"/v2/{{repo}}/blobs/{digest}"),
                400,
                "DIGEST_INVALID",
                "digest",
            ),
            Case(
                f"blob-head-{did}",
                request("HEAD", f"/v2/{{repo}}/blobs/{digest}"),
                400,
                "DIGEST_INVALID",
            ),
            Case(
                f"blob-delete-{did}",
                request("DELETE", f"/v2/{{repo}}/blobs/{digest}"),
                400,
                "DIGEST_INVALID",
            ),
            Case(
                f"referrers-{did}",
                request("GET", f"/v2/{{repo}}/referrers/{digest}"),
                400,
                "DIGEST_INVALID",
            ),
            Case(
                f"monolithic-{did}",
                request("POST", f"/v2/{{repo}}/blobs/uploads/?digest={digest}", body=LAYER),
                400,
                "DIGEST_INVALID",
                "digest",
            ),
            Case(
                f"upload-put-{did}",
                request("PUT", f"/v2/{{repo}}/blobs/uploads/{{upload}}?digest={digest}"),
                400,
                "DIGEST_INVALID",
                "digest",
            ),
            Case(
                f"mount-{did}",
                request("POST", f"/v2/{{repo}}/blobs/uploads/?mount={digest}&from=other/repo"),
                400,
                "DIGEST_INVALID",
            ),
        ]
    for did, digest in ABSENT:
        cases += [
            Case(
                f"manifest-get-{did}",
                request("GET", f"/v2/{{repo}}/manifests/{digest}"),
                404,
                "MANIFEST_UNKNOWN",
            ),
            Case(
                f"manifest-delete-{did}",
                request("DELETE", f"/v2/{{repo}}/manifests/{digest}"),
                404,
                "MANIFEST_UNKNOWN",
            ),
            Case(
                f"blob-get-{did}",
                request("GET", f"/v2/{{repo}}/blobs/{digest}"),
                404,
                "BLOB_UNKNOWN",
            ),
            Case(
                f"blob-delete-{did}",
                request("DELETE", f"/v2/{{repo}}/blobs/{digest}"),
                404,
                "BLOB_UNKNOWN",
            ),
        ]
    cases += [
        Case(
            "upload-put-no-digest",
            request("PUT", "/v2/{repo}/blobs/uploads/{upload}"),
            400,
            "DIGEST_INVALID",
            "digest",
        ),
        Case(
            "upload-put-empty-digest",
            request("PUT", "/v2/{repo}/blobs/uploads/{upload}?digest="),
            400,
            "DIGEST_INVALID",
        ),
        Case(
            "monolithic-empty-digest",
            request("POST", "/v2/{repo}/blobs/uploads/?digest=", body=LAYER),
            400,
            "DIGEST_INVALID",
        ),
        Case(
            "digest-algorithm-unsupported",
            request("POST", "/v2/{repo}/blobs/uploads/?digest-algorithm=md5"),
            400,
            "DIGEST_INVALID",
            "algorithm",
        ),
        Case(
            "manifest-is-blob-digest",
            request("GET", "/v2/{repo}/manifests/{blob}"),
            404,
            "MANIFEST_UNKNOWN",
        ),
        Case(
            "blob-of-other-repo", request("GET", "/v2/other/repo/blobs/{blob}"), 404, "BLOB_UNKNOWN"
        ),
        Case(
            "manifest-of-other-repo",
            request("GET", "/v2/other/repo/manifests/{manifest}"),
            404,
            "MANIFEST_UNKNOWN",
        ),
        Case(
            "mount-absent-falls-back-to-session-name-invalid",
            request("POST", "/v2/{repo}/blobs/uploads/?mount=sha256:" + "0" * 64 + "&from=Bad"),
            400,
            "NAME_INVALID",
        ),
    ]
    return cases


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
async def test_hostile_digest(seeded: Live, case: Case) -> None:
    await run_case(seeded, case)
