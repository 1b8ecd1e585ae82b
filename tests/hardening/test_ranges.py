"""``Range`` on blob reads, over the in-memory driver (streamed) and the filesystem (sendfile):
satisfiable ranges are 206, unsatisfiable ones 416 ``bytes */size``, malformed ones ignored."""

from __future__ import annotations

import pytest

from tests.hardening.rawhttp import LAYER, Case, Live, request, run_case

SIZE = len(LAYER)
BLOB = "/v2/{repo}/blobs/{blob}"


def partial(cid: str, value: str, start: int, end: int) -> Case:
    return Case(
        cid,
        request("GET", BLOB, {"Range": value}),
        206,
        headers={
            "Content-Range": f"bytes {start}-{end}/{SIZE}",
            "Content-Length": str(end - start + 1),
        },
    )


def whole(cid: str, value: str, **extra: str) -> Case:
    return Case(
        cid,
        request("GET", BLOB, {"Range": value, **extra}),
        200,
        headers={"Content-Length": str(SIZE)},
    )


def unsatisfiable(cid: str, value: str) -> Case:
    return Case(
        cid,
        request("GET", BLOB, {"Range": value}),
        416,
        "RANGE_INVALID",
        headers={"Content-Range": f"bytes */{SIZE}"},
    )


CASES = [
    partial("first-ten", "bytes=0-9", 0, 9),
    partial("single-byte", "bytes=5-5", 5, 5),
    partial("last-byte", f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE - 1),
    partial("suffix", "bytes=-10", SIZE - 10, SIZE - 1),
    partial("suffix-longer-than-blob", f"bytes=-{SIZE * 2}", 0, SIZE - 1),
    partial("open-ended", "bytes=1000-", 1000, SIZE - 1),
    partial("end-past-size", f"bytes=1000-{SIZE * 10}", 1000, SIZE - 1),
    partial("whole-as-range", f"bytes=0-{SIZE - 1}", 0, SIZE - 1),
    partial("spaces", "bytes= 0-9 ", 0, 9),
    partial("unit-case", "Bytes=0-9", 0, 9),
    partial("nineteen-digit-end", f"bytes=10-{'9' * 19}", 10, SIZE - 1),
    unsatisfiable("start-at-size", f"bytes={SIZE}-"),
    unsatisfiable("start-past-size", f"bytes={SIZE + 100}-{SIZE + 200}"),
    unsatisfiable("zero-suffix", "bytes=-0"),
    whole("malformed-word", "bytes=abc"),
    whole("malformed-no-equals", "bytes 0-9"),
    whole("other-unit", "items=0-9"),
    whole("multi-range", "bytes=0-1,5-6"),
    whole("inverted", "bytes=9-0"),
    whole("empty-spec", "bytes=-"),
    whole("empty", ""),
    whole("negative", "bytes=--5"),
    whole("unicode-digits", "bytes=\u0661-\u0665"),
    whole("huge-number", f"bytes=0-{'9' * 5000}"),
    whole("huge-start", f"bytes={'9' * 5000}-"),
    whole("if-range-mismatch", "bytes=0-9", **{"If-Range": '"sha256:nope"'}),
    whole("if-range-date", "bytes=0-9", **{"If-Range": "Mon, 01 Jan 2024 00:00:00 GMT"}),
    Case(
        "head-range",
        request("HEAD", BLOB, {"Range": "bytes=0-9"}),
        206,
        headers={"Content-Range": f"bytes 0-9/{SIZE}"},
    ),
    Case(
        "head-unsatisfiable",
        request("HEAD", BLOB, {"Range": f"bytes={SIZE}-"}),
        416,
        "RANGE_INVALID",
    ),
    Case(
        "manifest-range-ignored",
        request("GET", "/v2/{repo}/manifests/latest", {"Range": "bytes=0-9"}),
        200,
    ),
]


@pytest.fixture(params=["inmemory", "filesystem"])
def driver_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_blob_range(ranged: Live, case: Case) -> None:
    resp = await run_case(ranged, case)
    assert resp is not None
    if resp.status == 206 and not case.raw.startswith(b"HEAD"):
        start, end = map(int, resp.headers["Content-Range"].split(" ")[1].split("/")[0].split("-"))
        assert resp.body == LAYER[start : end + 1]
    if resp.status == 200 and case.raw.startswith(b"GET /v2/{repo}/blobs"):
        assert resp.body == LAYER
