"""Unit tests of the Range / Content-Range parsers."""

from __future__ import annotations

import pytest

from cargohold.api.ranges import ByteRange, ChunkRange, parse_content_range, parse_range
from cargohold.errors import RangeNotSatisfiable


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("", 10, None),
        ("bytes=0-0", 10, ByteRange(0, 0, 10)),
        ("bytes=2-", 10, ByteRange(2, 9, 10)),
        ("bytes=-3", 10, ByteRange(7, 9, 10)),
        ("bytes=-30", 10, ByteRange(0, 9, 10)),
        ("bytes=5-50", 10, ByteRange(5, 9, 10)),
        ("bytes=9-9", 10, ByteRange(9, 9, 10)),
        (" bytes = 1-2 ", 10, ByteRange(1, 2, 10)),
        ("bytes=0-1, 3-4", 10, None),
        ("bytes=3-1", 10, None),
        ("bits=0-1", 10, None),
        ("bytes=x-1", 10, None),
        ("bytes=-", 10, None),
        ("bytes 0-1", 10, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: ByteRange | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=0-", 0), ("bytes=-5", 0)]
)
def test_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_range(header, size)
    assert info.value.size == size


def test_byte_range_helpers() -> None:
    r = ByteRange(10, 19, 100)
    assert r.length == 10
    assert r.content_range() == "bytes 10-19/100"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("0-9", ChunkRange(0, 9)),
        (" 10-19 ", ChunkRange(10, 19)),
        ("bytes 0-9/10", ChunkRange(0, 9)),
        ("bytes 0-9/*", ChunkRange(0, 9)),
        ("bytes=5-5", ChunkRange(5, 5)),
        ("9-0", None),
        ("-1", None),
        ("0-", None),
        ("a-b", None),
        ("0-9/", None),
        ("", None),
    ],
)
def test_parse_content_range(header: str, expected: ChunkRange | None) -> None:
    assert parse_content_range(header) == expected
