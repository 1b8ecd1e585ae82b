"""Hostile uploads: digest/size mismatches, lying or malformed framing, bad ``Content-Range`` and
forged upload ids. Nothing is stored, an open session keeps its bytes (416 says where it is)."""

from __future__ import annotations

import pytest

from tests.hardening.rawhttp import LAYER, UPLOADED, Case, Live, request, run_case, sha256

SESSION = "/v2/{repo}/blobs/uploads/{upload}"
NEW = "/v2/{repo}/blobs/uploads/"
AT = str(len(UPLOADED))  # the session's offset
RANGE_NOW = {"Range": f"0-{len(UPLOADED) - 1}"}
OTHER = b"other content"


def framing_cases() -> list[Case]:
    """Content-Length and Transfer-Encoding that lie or contradict each other."""
    mono = f"{NEW}?digest={sha256(LAYER)}"
    return [
        Case(
            "cl-shorter-than-body-monolithic",
            # keep-alive: the rest of the body is then parsed as a next (garbage) request
            request("POST", mono, {"Content-Length": "100", "Connection": "keep-alive"}, LAYER),
            None,  # aiohttp may refuse the pipeline as a whole; either way nothing is stored
        ),
        Case(
            "cl-longer-than-body-monolithic",
            request("POST", mono, {"Content-Length": str(len(LAYER) + 50)}, LAYER),
            None,
            half_close=True,
        ),
        Case(
            "cl-longer-than-body-patch-stalls",
            request(
                "PATCH",
                "/v2/{repo}/blobs/uploads/{other_upload}".replace("{repo}", "other/repo"),
                {"Content-Length": "99999"},
                b"abc",
            ),
            None,
            half_close=True,
            touches_uploads=True,  # what arrived is kept, so the client may resume from there
        ),
        Case("cl-negative", request("POST", mono, {"Content-Length": "-1"}, LAYER), 400, "UNKNOWN"),
        Case(
            "cl-non-numeric",
            request("POST", mono, {"Content-Length": "abc"}, LAYER),
            400,
            "UNKNOWN",
        ),
        Case("cl-hex", request("POST", mono, {"Content-Length": "0x10"}, LAYER), 400, "UNKNOWN"),
        Case("cl-plus", request("POST", mono, {"Content-Length": "+1024"}, LAYER), 400, "UNKNOWN"),
        Case(
            "cl-space-inside",
            request("POST", mono, {"Content-Length": "10 24"}, LAYER),
            400,
            "UNKNOWN",
        ),
        Case(
            "cl-huge",
            request("POST", mono, {"Content-Length": "9" * 30}, LAYER),
            None,
            half_close=True,
        ),
        Case(
            "cl-duplicate-disagreeing",
            request("POST", mono, [("Content-Length", "1024"), ("Content-Length", "5")], LAYER),
            400,
            "UNKNOWN",
        ),
        Case(
            "cl-and-te",
            request(
                "POST", mono, {"Content-Length": "5", "Transfer-Encoding": "chunked"}, b"0\r\n\r\n"
            ),
            400,
            "UNKNOWN",
        ),
        Case(
            "te-chunked-malformed",
            request("POST", mono, {"Transfer-Encoding": "chunked"}, b"zz\r\nabc\r\n0\r\n\r\n"),
            None,
        ),
        Case(
            "te-chunked-truncated",
            request("POST", mono, {"Transfer-Encoding": "chunked"}, b"400\r\nabc"),
            None,
            half_close=True,
        ),
        Case(
            "te-chunked-wrong-digest",
            request("POST", mono, {"Transfer-Encoding": "chunked"}, b"3\r\nabc\r\n0\r\n\r\n"),
            400,
            "DIGEST_INVALID",
        ),
        Case(
            "te-unknown-coding",
            request("POST", mono, {"Transfer-Encoding": "gzip"}, LAYER),
            None,
            half_close=True,
        ),
        Case(
            "te-chunked-not-last",
            request("POST", mono, {"Transfer-Encoding": "chunked, gzip"}, b"0\r\n\r\n"),
            None,
        ),
        Case(
            "te-duplicated-chunked",
            request(
                "POST",
                mono,
                [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")],
                b"0\r\n\r\n",
            ),
            None,
        ),
    ]


def digest_cases() -> list[Case]:
    return [
        Case(
            "monolithic-digest-mismatch",
            request("POST", f"{NEW}?digest={sha256(OTHER)}", body=LAYER),
            400,
            "DIGEST_INVALID",
            "does not match",
        ),
        Case(
            "monolithic-empty-body-nonempty-digest",
            request("POST", f"{NEW}?digest={sha256(LAYER)}"),
            400,
            "DIGEST_INVALID",
        ),
        Case(
            "monolithic-sha512-mismatch",
            request("POST", f"{NEW}?digest=sha512:{'0' * 128}", body=LAYER),
            400,
            "DIGEST_INVALID",
        ),
        Case(
            "session-put-digest-mismatch",
            request("PUT", f"{SESSION}?digest={sha256(OTHER)}"),
            400,
            "DIGEST_INVALID",
            "does not match",
            touches_uploads=True,
        ),
        Case(
            "session-put-final-chunk-digest-mismatch",
            request(
                "PUT",
                f"{SESSION}?digest={sha256(UPLOADED)}",
                {"Content-Range": f"{AT}-{int(AT) + 2}"},
                b"xyz",
            ),
            400,
            "DIGEST_INVALID",
            touches_uploads=True,
        ),
        Case(
            "session-put-size-mismatch-range",
            request(
                "PUT",
                f"{SESSION}?digest={sha256(UPLOADED)}",
                {"Content-Range": f"{AT}-{int(AT) + 9}"},
                b"xyz",
            ),
            400,
            "SIZE_INVALID",
        ),
    ]


def content_range_cases() -> list[Case]:
    """OCI distribution-spec §Pushing a blob in chunks: anything but the next chunk is a 416."""
    bad = [
        ("first-chunk-not-at-zero", "5-7"),
        ("restart-at-zero", "0-2"),
        ("overlap", f"{int(AT) - 2}-{int(AT)}"),
        ("gap", f"{int(AT) + 1}-{int(AT) + 3}"),
        ("far-gap", "1000000-1000002"),
        ("inverted", f"{int(AT) + 2}-{AT}"),
        ("malformed-word", "abc"),
        ("malformed-open-end", f"{AT}-"),
        ("malformed-suffix", "-3"),
        ("malformed-total", f"{AT}-{int(AT) + 2}/abc"),
        ("malformed-trailing", f"{AT}-{int(AT) + 2}x"),
        ("malformed-unit", f"items {AT}-{int(AT) + 2}"),
        ("malformed-negative", f"-{AT}-{int(AT) + 2}"),
        ("malformed-empty", ""),
        ("malformed-huge", f"{'9' * 40}-{'9' * 41}"),
        ("malformed-unicode-digits", "\u0661\u0660-\u0661\u0662"),
    ]
    cases = []
    for cid, value in bad:
        headers = {"Content-Range": value}
        cases.append(
            Case(
                f"patch-{cid}",
                request("PATCH", SESSION, headers, b"xyz"),
                416,
                "RANGE_INVALID",
                headers=RANGE_NOW,
            )
        )
        cases.append(
            Case(
                f"put-{cid}",
                request("PUT", f"{SESSION}?digest={sha256(UPLOADED + b'xyz')}", headers, b"xyz"),
                416,
                "RANGE_INVALID",
                headers=RANGE_NOW,
            )
        )
    cases.append(
        Case(
            "patch-range-length-disagrees",
            request("PATCH", SESSION, {"Content-Range": f"{AT}-{int(AT) + 9}"}, b"xyz"),
            400,
            "SIZE_INVALID",
        )
    )
    return cases


def upload_id_cases() -> list[Case]:
    """Ids that are not a live session of this repository: 404 BLOB_UPLOAD_UNKNOWN everywhere."""
    ids = [
        ("unknown", "5f1a0000-0000-4000-8000-000000000000"),
        ("cancelled", "{cancelled_upload}"),
        ("completed", "{done_upload}"),
        ("cross-repository", "{other_upload}"),
        ("traversal", "..%2F..%2F_manifests"),
        ("dotdot", "%2e%2e"),
        ("dot", "%2e"),
        ("uppercase", "5F1A0000-0000-4000-8000-000000000000"),
        ("too-long", "a" * 300),
        ("nul", "{upload}%00"),
        ("crlf", "{upload}%0d%0a"),
        ("unicode", "caf%C3%A9"),
        ("suffix", "{upload}x"),
        ("space", "%20{upload}"),
    ]
    cases = []
    for cid, upload_id in ids:
        target = f"/v2/{{repo}}/blobs/uploads/{upload_id}"
        cases += [
            Case(f"status-{cid}", request("GET", target), 404, "BLOB_UPLOAD_UNKNOWN", "upload"),
            Case(f"head-{cid}", request("HEAD", target), 404, "BLOB_UPLOAD_UNKNOWN"),
            Case(
                f"patch-{cid}", request("PATCH", target, body=b"data"), 404, "BLOB_UPLOAD_UNKNOWN"
            ),
            Case(
                f"patch-range-{cid}",
                request("PATCH", target, {"Content-Range": "0-3"}, b"data"),
                404,
                "BLOB_UPLOAD_UNKNOWN",
            ),
            Case(
                f"put-{cid}",
                request("PUT", f"{target}?digest={sha256(b'data')}", body=b"data"),
                404,
                "BLOB_UPLOAD_UNKNOWN",
            ),
            Case(f"delete-{cid}", request("DELETE", target), 404, "BLOB_UPLOAD_UNKNOWN"),
        ]
    return cases


CASES = framing_cases() + digest_cases() + content_range_cases() + upload_id_cases()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_hostile_upload(seeded: Live, case: Case) -> None:
    await run_case(seeded, case)


async def test_session_still_resumes_after_hostile_chunks(seeded: Live) -> None:
    """After every refused chunk the session continues from the offset it reports."""
    for value in ("0-2", "abc", f"{int(AT) + 1}-{int(AT) + 3}"):
        await run_case(
            seeded,
            Case(
                value,
                request("PATCH", SESSION, {"Content-Range": value}, b"xyz"),
                416,
                "RANGE_INVALID",
            ),
        )
    resp = await run_case(seeded, Case("status", request("GET", SESSION), 204, headers=RANGE_NOW))
    assert resp is not None
    final = f"{SESSION}?digest={sha256(UPLOADED + b'xyz')}"
    from tests.hardening.rawhttp import send

    done = await send(
        seeded, request("PUT", final, {"Content-Range": f"{AT}-{int(AT) + 2}"}, b"xyz")
    )
    assert done is not None
    assert done.status == 201, done
    blob = await send(seeded, request("GET", f"/v2/{{repo}}/blobs/{sha256(UPLOADED + b'xyz')}"))
    assert blob is not None
    assert blob.body == UPLOADED + b"xyz"
