"""Unit tests of the pagination helpers."""

from __future__ import annotations

import pytest

from cargohold.api.pagination import Page, link_header, paginate

ENTRIES = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (Page(None, None), (ENTRIES, False)),
        (Page(2, None), (["a", "b"], True)),
        (Page(3, None), (ENTRIES, False)),
        (Page(0, None), ([], False)),
        (Page(1, "a"), (["b"], True)),
        (Page(None, "b"), (["c"], False)),
        (Page(5, "c"), ([], False)),
        (Page(5, "0"), (ENTRIES, False)),
    ],
)
def test_paginate(page: Page, expected: tuple[list[str], bool]) -> None:
    assert paginate(ENTRIES, page) == expected


def test_link_header_encodes_last() -> None:
    assert (
        link_header("/v2/x/tags/list", 2, "a&b") == '</v2/x/tags/list?n=2&last=a%26b>; rel="next"'
    )
