"""Hostile tags in manifest URLs and ``?tag=``: 400 TAG_INVALID, nothing stored."""

from __future__ import annotations

import pytest

from tests.hardening.rawhttp import MANIFEST, OCI_MANIFEST, Case, Live, request, run_case

BAD_TAGS: list[tuple[str, str]] = [
    ("leading-dot", ".hidden"),
    ("leading-dash", "-dash"),
    ("too-long", "t" * 129),
    ("too-long-valid-chars", "v1." + "x" * 126),
    ("space", "tag%20x"),
    ("nul", "tag%00"),
    ("crlf", "tag%0d%0aX-Injected"),
    ("unicode", "caf%C3%A9"),
    ("encoded-slash", "tag%2Fslash"),
    ("plus", "v1+build"),
    ("tilde", "~latest"),
    ("star", "*"),
    ("encoded-dotdot", "%2e%2e"),
    ("dot-only", "."),
    ("percent-garbage", "tag%zz"),
    ("at", "tag@sha256"),
    ("bang", "tag!"),
]

PUT_HEADERS = {"Content-Type": OCI_MANIFEST}


def _cases() -> list[Case]:
    cases: list[Case] = []
    for tag_id, tag in BAD_TAGS:
        target = f"/v2/{{repo}}/manifests/{tag}"
        cases += [
            Case(f"get-{tag_id}", request("GET", target), 400, "TAG_INVALID", "tag"),
            Case(f"head-{tag_id}", request("HEAD", target), 400, "TAG_INVALID"),
            Case(
                f"put-{tag_id}", request("PUT", target, PUT_HEADERS, MANIFEST), 400, "TAG_INVALID"
            ),
            Case(f"delete-{tag_id}", request("DELETE", target), 400, "TAG_INVALID", "tag"),
            Case(
                f"put-query-tag-{tag_id}",
                request("PUT", f"/v2/{{repo}}/manifests/v2?tag={tag}", PUT_HEADERS, MANIFEST),
                400,
                "TAG_INVALID",
                "tag",
            ),
            Case(
                f"put-digest-query-tag-{tag_id}",
                request(
                    "PUT",
                    f"/v2/{{repo}}/manifests/{{manifest}}?tag=ok&tag={tag}",
                    PUT_HEADERS,
                    MANIFEST,
                ),
                400,
                "TAG_INVALID",
                "tag",
            ),
        ]
    cases += [
        Case(
            "unknown-tag-get", request("GET", "/v2/{repo}/manifests/nope"), 404, "MANIFEST_UNKNOWN"
        ),
        Case(
            "unknown-tag-delete",
            request("DELETE", "/v2/{repo}/manifests/nope"),
            404,
            "MANIFEST_UNKNOWN",
        ),
        Case(
            "unknown-repo-tag",
            request("GET", "/v2/no/such/manifests/latest"),
            404,
            "MANIFEST_UNKNOWN",
        ),
        Case("empty-tag", request("GET", "/v2/{repo}/manifests/"), 400, "TAG_INVALID"),
    ]
    return cases


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
async def test_hostile_tag(seeded: Live, case: Case) -> None:
    await run_case(seeded, case)
