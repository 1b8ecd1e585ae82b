"""Byte ranges: ``Range`` on blob reads (RFC 9110 §14) and ``Content-Range`` on upload chunks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cargohold.errors import RangeNotSatisfiable

# RFC 9110 §14.1.1: int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length.
# [0-9], never \d (which matches any Unicode digit, e.g. Arabic-Indic ones); 19 digits hold an int64;
# longer numbers would also hit Python's int() digit limit: such a header counts as malformed.
_RANGE_SPEC = re.compile(r"([0-9]{0,19})-([0-9]{0,19})")
# OCI distribution-spec §Pushing a blob in chunks: "^[0-9]+-[0-9]+$". Clients in the wild also
# send the RFC 9110 §14.4 form "bytes 0-99/*" or "bytes=0-99"; both are accepted.
_CONTENT_RANGE = re.compile(r"(?:bytes[ =])?([0-9]{1,19})-([0-9]{1,19})(?:/(?:[0-9]{1,19}|\*))?")


@dataclass(frozen=True, slots=True)
class ByteRange:
    """An inclusive, satisfiable range ``start..end`` of a representation of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to serve, or None to serve the whole representation.

    A missing, malformed or multi-range header is ignored, as RFC 9110 §14.2 permits (we do not
    generate multipart/byteranges). A well-formed single range that cannot be satisfied raises
    RangeNotSatisfiable carrying ``size`` for the ``Content-Range: bytes */size`` reply.
    """
    if not header:
        return None
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    spec = spec.strip()
    m = _RANGE_SPEC.fullmatch(spec)
    if m is None:
        return None  # malformed, or a multi-range set: serve the whole blob
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return ByteRange(max(size - suffix, 0), size - 1, size)
    start = int(first)
    end = int(last) if last != "" else size - 1
    if last != "" and end < start:
        return None  # RFC 9110 §14.1.1: an invalid range-spec; ignore the header
    if start >= size:
        raise _unsatisfiable(size)
    return ByteRange(start, min(end, size - 1), size)


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        f"requested range not satisfiable for a blob of {size} bytes", {"size": size}, size=size
    )


@dataclass(frozen=True, slots=True)
class ChunkRange:
    """An upload chunk's declared inclusive ``start..end``."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_content_range(header: str) -> ChunkRange | None:
    """Parse a chunk's ``Content-Range``; None when it is malformed or ends before it starts."""
    m = _CONTENT_RANGE.fullmatch(header.strip())
    if m is None or int(m.group(2)) < int(m.group(1)):
        return None
    return ChunkRange(int(m.group(1)), int(m.group(2)))
