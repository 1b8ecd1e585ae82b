"""How the S3 driver cuts objects into multipart parts: sizes that grow with the offset.

S3 allows 10,000 parts of 5 MiB to 5 GiB each (all but the last at least 5 MiB). A fixed part
size caps the object at 10,000 parts of it (98 GiB with the default 10 MiB), so from the
offset where ``offset / PART_GROWTH`` exceeds the configured chunk size, each part is that
fraction of the bytes before it. Parts then grow geometrically and even a 5 TiB object (S3's
maximum) needs fewer than 10,000 parts, whatever the chunk size. Part boundaries depend only on
offsets, so every process cuts the same object the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from cargohold.storage.driver.s3_params import MAX_PART_SIZE, MIN_PART_SIZE

__all__ = [
    "MAX_PARTS",
    "PART_GROWTH",
    "copy_ranges",
    "decode_numbers",
    "encode_numbers",
    "part_size",
]

MAX_PARTS: Final = 10_000
#: A part starting at ``offset`` is at least ``offset / PART_GROWTH`` bytes.
PART_GROWTH: Final = 1000
_MiB: Final = 1 << 20
_RUN: Final = re.compile(r"([0-9]+)(?:-([0-9]+))?")


def part_size(offset: int, base: int) -> int:
    """Bytes of the part starting at ``offset``: ``base``, or more far into a large object."""
    grown = -(-offset // PART_GROWTH)
    grown = -(-grown // _MiB) * _MiB  # whole MiB keep parts aligned and sizes readable
    return min(MAX_PART_SIZE, max(base, grown))


def copy_ranges(size: int, base: int, *, last: bool) -> list[tuple[int, int]]:
    """Cut ``[0, size)`` into ``(start, end)`` ranges of ``part_size`` for UploadPartCopy.

    With ``last`` the ranges end the object, so the final one may be short. Without it more
    parts follow, so every range must be at least MIN_PART_SIZE: a short remainder is merged
    into the range before it (or split evenly with it, if merging would exceed MAX_PART_SIZE).
    ValueError if ``size`` is below MIN_PART_SIZE and ``last`` is false.
    """
    if not last and size < MIN_PART_SIZE:
        raise ValueError(f"{size} bytes cannot be copied into non-final parts")
    ranges: list[tuple[int, int]] = []
    start = 0
    while start < size:
        rest, n = size - start, part_size(start, base)
        if rest <= n:
            end = size
        elif not last and rest - n < MIN_PART_SIZE:
            end = size if rest <= MAX_PART_SIZE else start + rest // 2
        else:
            end = start + n
        ranges.append((start, end))
        start = end
    return ranges


def encode_numbers(numbers: Sequence[int]) -> str:
    """Ascending part numbers as runs, ``[1, 2, 3, 7]`` -> ``"1-3,7"``: short enough for metadata."""
    runs: list[str] = []
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        runs.append(str(numbers[i]) if i == j else f"{numbers[i]}-{numbers[j]}")
        i = j + 1
    return ",".join(runs)


def decode_numbers(text: str) -> list[int]:
    """The inverse of :func:`encode_numbers`; ValueError unless ascending numbers in 1..MAX_PARTS."""
    numbers: list[int] = []
    for run in text.split(",") if text else ():
        match = _RUN.fullmatch(run)
        if match is None:
            raise ValueError(f"bad part numbers {text!r}")
        first = int(match[1])
        last = int(match[2] or first)
        if not (numbers[-1] if numbers else 0) < first <= last <= MAX_PARTS:
            raise ValueError(f"bad part numbers {text!r}")
        numbers.extend(range(first, last + 1))
    return numbers
