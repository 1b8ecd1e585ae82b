"""Methods a resource does not support: 405 UNSUPPORTED with ``Allow``; nothing stored."""

from __future__ import annotations

import pytest

from tests.hardening.rawhttp import Case, Live, request, run_case

RESOURCES: list[tuple[str, str, set[str]]] = [
    ("base", "/v2/", {"GET", "HEAD"}),
    ("catalog", "/v2/_catalog", {"GET", "HEAD"}),
    ("tags", "/v2/{repo}/tags/list", {"GET", "HEAD"}),
    ("manifest", "/v2/{repo}/manifests/latest", {"GET", "HEAD", "PUT", "DELETE"}),
    ("blob", "/v2/{repo}/blobs/{blob}", {"GET", "HEAD", "DELETE"}),
    ("uploads", "/v2/{repo}/blobs/uploads/", {"POST"}),
    ("upload", "/v2/{repo}/blobs/uploads/{upload}", {"GET", "HEAD", "PATCH", "PUT", "DELETE"}),
    ("referrers", "/v2/{repo}/referrers/{manifest}", {"GET", "HEAD"}),
]
METHODS = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "OPTIONS",
    "TRACE",
    "PROPFIND",
    "MKCOL",
    "LOCK",
    "PURGE",
]


def _cases() -> list[Case]:
    cases = []
    for rid, target, allowed in RESOURCES:
        for method in METHODS:
            if method in allowed:
                continue
            cases.append(
                Case(
                    f"{rid}-{method}",
                    request(
                        method, target, body=b"x" if method in ("POST", "PUT", "PATCH") else b""
                    ),
                    405,
                    "UNSUPPORTED",
                    method,
                    headers={"Allow": ", ".join(sorted(allowed))},
                )
            )
    # Tokens the HTTP parser does not know never reach the router: still a 405, not a 5xx.
    for method in ("FOO", "get", "G ET", "GET\x00"):
        cases.append(Case(f"unknown-{method!r}", request(method, "/v2/"), 405, "UNSUPPORTED"))
    cases += [
        Case(
            "no-such-endpoint",
            request("GET", "/v2/{repo}/nothing/here"),
            404,
            "UNSUPPORTED",
            "endpoint",
        ),
        Case("blobs-without-digest", request("GET", "/v2/{repo}/blobs/"), 400, "DIGEST_INVALID"),
        Case("outside-api", request("GET", "/v1/_ping"), 404),
        Case("root", request("GET", "/"), None),  # health endpoints may live here
        Case("v2-prefix-lookalike", request("GET", "/v2x/"), 404),
        Case("absolute-form-target", request("GET", "http://127.0.0.1/v2/"), 200),
        Case("asterisk-target", request("OPTIONS", "*"), 404),
        Case("connect", request("CONNECT", "127.0.0.1:80"), None),
    ]
    return cases


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
async def test_unsupported_method(seeded: Live, case: Case) -> None:
    await run_case(seeded, case)
