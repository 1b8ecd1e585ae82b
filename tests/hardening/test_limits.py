"""Oversized and malformed request heads: 414, 431 or 400 with an OCI error body, never a 5xx."""

from __future__ import annotations

import pytest

from tests.hardening.rawhttp import Case, Live, request, run_case

LONG = 9000


def _cases() -> list[Case]:
    return [
        Case(
            "url-too-long",
            request("GET", "/v2/" + "a" * LONG + "/tags/list"),
            414,
            "UNKNOWN",
            "request line",
        ),
        Case("query-too-long", request("GET", "/v2/_catalog?last=" + "a" * LONG), 414, "UNKNOWN"),
        Case(
            "url-under-limit-long-name",
            request("GET", "/v2/" + "a" * 8000 + "/tags/list"),
            400,
            "NAME_INVALID",
            "255",
        ),
        Case(
            "header-value-too-long",
            request("GET", "/v2/", {"X-Big": "a" * LONG}),
            431,
            "UNKNOWN",
            "header",
        ),
        Case(
            "header-name-too-long", request("GET", "/v2/", {"X-" + "a" * LONG: "1"}), 431, "UNKNOWN"
        ),
        Case(
            "too-many-headers",
            request("GET", "/v2/", [(f"X-H{i}", "1") for i in range(300)]),
            431,
            "UNKNOWN",
        ),
        Case(
            "many-small-headers-fine",
            request("GET", "/v2/", [(f"X-H{i}", "1") for i in range(50)]),
            200,
        ),
        Case(
            "cookie-too-long", request("GET", "/v2/", {"Cookie": "a=" + "b" * LONG}), 431, "UNKNOWN"
        ),
        Case("nul-in-target", request("GET", b"/v2/a\x00b/tags/list"), 400, "UNKNOWN"),
        Case("space-in-target", request("GET", b"/v2/a b/tags/list"), 400, "UNKNOWN"),
        Case("nul-in-header", request("GET", "/v2/", {"X-Test": "a\x00b"}), 400, "UNKNOWN"),
        Case("bare-lf-line-endings", b"GET /v2/ HTTP/1.1\nHost: x\nConnection: close\n\n", None),
        Case(
            "obs-fold-header",
            b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\nConnection: close\r\n\r\n",
            None,
        ),
        Case(
            "header-without-colon",
            b"GET /v2/ HTTP/1.1\r\nHost: x\r\nNoColon\r\nConnection: close\r\n\r\n",
            400,
            "UNKNOWN",
        ),
        Case(
            "space-before-colon",
            b"GET /v2/ HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\nConnection: close\r\n\r\n",
            400,
            "UNKNOWN",
        ),
        Case("http-0.9", b"GET /v2/\r\n\r\n", None),
        Case(
            "http-version-garbage",
            b"GET /v2/ HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n",
            None,
        ),
        Case("not-http", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 64, None),
        Case("empty-request-line", b"\r\n\r\n", None),
        Case("request-id-injection", request("GET", "/v2/", {"X-Request-Id": "abc\x7fdef"}), None),
    ]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
async def test_oversized_or_malformed_head(seeded: Live, case: Case) -> None:
    resp = await run_case(seeded, case)
    if resp is not None:
        assert resp.status < 500
        assert b"Traceback" not in resp.body
        assert resp.headers.get("X-Request-Id", "") != "abc\x7fdef"


@pytest.mark.parametrize(
    "header",
    [
        b"X-Forwarded-Proto: javascript",
        b"X-Forwarded-Proto: \xc3\xa9",
        b"X-Forwarded-Host: a b",
        b"X-Forwarded-Host: \xff\xfe",
        b"X-Forwarded-Host: evil/path?x=",
        b'Forwarded: host="a\\"b";proto=javascript',
        b"Forwarded: for=1.2.3.4;host=@evil",
    ],
    ids=lambda h: h.decode("latin-1")[:40],
)
async def test_forwarded_garbage_never_reaches_location(seeded: Live, header: bytes) -> None:
    """Proxy headers outside the URL grammar are ignored, not pasted into Location."""
    raw = (
        b"POST /v2/{repo}/blobs/uploads/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + header
        + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    resp = await run_case(seeded, Case("forwarded", raw, 202, touches_uploads=True))
    assert resp is not None
    assert resp.headers["Location"].startswith("http://127.0.0.1/v2/seed/repo/blobs/uploads/")
