"""Hostile ``n``/``last`` on tag and catalog listings (OCI distribution-spec §Listing Tags)."""

from __future__ import annotations

import pytest

from tests.hardening.rawhttp import Case, Live, request, run_case, send

TAGS = "/v2/{repo}/tags/list"
CATALOG = "/v2/_catalog"

BAD_N = [
    ("negative", "-1"),
    ("negative-zero", "-0"),
    ("float", "1.5"),
    ("word", "abc"),
    ("hex", "0x10"),
    ("plus", "%2B5"),
    ("space", "%205"),
    ("underscore", "5_0"),
    ("exponent", "1e3"),
    ("unicode-digits", "%D9%A5"),
    ("nul", "5%00"),
]


def _cases() -> list[Case]:
    cases: list[Case] = []
    for nid, n in BAD_N:
        cases.append(
            Case(
                f"tags-n-{nid}",
                request("GET", f"{TAGS}?n={n}"),
                400,
                "PAGINATION_NUMBER_INVALID",
                "n",
            )
        )
        cases.append(
            Case(
                f"catalog-n-{nid}",
                request("GET", f"{CATALOG}?n={n}"),
                400,
                "PAGINATION_NUMBER_INVALID",
            )
        )
    cases += [
        Case(
            "catalog-n-over-maximum",
            request("GET", f"{CATALOG}?n=1001"),
            400,
            "PAGINATION_NUMBER_INVALID",
            "1000",
        ),
        Case(
            "catalog-n-huge",
            request("GET", f"{CATALOG}?n={'9' * 40}"),
            400,
            "PAGINATION_NUMBER_INVALID",
        ),
        Case("tags-n-zero", request("GET", f"{TAGS}?n=0"), 200),
        Case("catalog-n-zero", request("GET", f"{CATALOG}?n=0"), 200),
        Case("tags-n-huge", request("GET", f"{TAGS}?n={'9' * 40}"), 200),
        Case("tags-n-empty", request("GET", f"{TAGS}?n="), 200),
        Case("tags-last-past-end", request("GET", f"{TAGS}?n=5&last=zzzz"), 200),
        Case("tags-last-invalid-tag", request("GET", f"{TAGS}?n=5&last=%00%0d%0a"), 200),
        Case("tags-last-unicode", request("GET", f"{TAGS}?last=%C3%A9"), 200),
        Case("tags-last-huge", request("GET", f"{TAGS}?last={'z' * 4000}"), 200),
        Case("catalog-last-past-end", request("GET", f"{CATALOG}?n=5&last=zzzz"), 200),
        Case("catalog-last-invalid-name", request("GET", f"{CATALOG}?last=..%2F..%2Fetc"), 200),
        Case("catalog-last-nul", request("GET", f"{CATALOG}?last=%00"), 200),
        Case("tags-repeated-n", request("GET", f"{TAGS}?n=1&n=-1"), 200),
        Case(
            "tags-unknown-repository",
            request("GET", "/v2/no/such/tags/list?n=-1"),
            400,
            "PAGINATION_NUMBER_INVALID",
        ),
        Case(
            "tags-unknown-repository-valid-n",
            request("GET", "/v2/no/such/tags/list?n=1"),
            404,
            "NAME_UNKNOWN",
        ),
    ]
    return cases


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
async def test_hostile_pagination(seeded: Live, case: Case) -> None:
    resp = await run_case(seeded, case)
    assert resp is not None
    if resp.status == 200:
        body = resp.json()
        listing = body.get("tags", body.get("repositories"))
        assert isinstance(listing, list)
        if "n=0" in case.id.replace("-", "=").replace("n=zero", "n=0") or "past-end" in case.id:
            assert listing == []
            assert "Link" not in resp.headers


async def test_n_zero_is_empty_without_link(seeded: Live) -> None:
    for target in (f"{TAGS}?n=0", f"{CATALOG}?n=0"):
        resp = await send(seeded, request("GET", target))
        assert resp is not None
        assert resp.status == 200
        assert list(resp.json().values())[-1] == []
        assert "Link" not in resp.headers


async def test_catalog_after_a_last_no_name_could_have(seeded: Live) -> None:
    """A ``last`` that cannot be a stored name still pages by name order, it does not fail."""
    for last, expected in (("..%2F..%2Fetc", ["seed/repo"]), ("t%00", [])):
        resp = await send(seeded, request("GET", f"{CATALOG}?last={last}"))
        assert resp is not None
        assert resp.json() == {"repositories": expected}
