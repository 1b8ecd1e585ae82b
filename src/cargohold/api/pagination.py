"""``n``/``last`` pagination for tag and catalog listings (OCI distribution-spec §Listing Tags).

A page holds up to ``n`` entries sorting after ``last``; when more remain, the response carries
``Link: <...?n=<n>&last=<last entry>>; rel="next"`` (RFC 8288). ``n=0`` yields an empty page and
no ``Link``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from cargohold.errors import PaginationInvalid


@dataclass(frozen=True, slots=True)
class Page:
    """A requested page: at most ``n`` entries (None = all) strictly after ``last``."""

    n: int | None
    last: str | None


def parse_page(request: web.Request, *, default: int | None, maximum: int | None) -> Page:
    """Read ``n`` and ``last``; raise PaginationInvalid for a non-numeric, negative or too large n."""
    raw = request.query.get("n")
    n = default
    if raw is not None and raw != "":
        # isdecimal, not int(): int() would accept "+5", " 5" and "5_0".
        if not raw.isascii() or not raw.isdecimal():
            raise PaginationInvalid("n must be a non-negative integer", {"n": raw[:100]})
        n = int(raw)
        if maximum is not None and n > maximum:
            raise PaginationInvalid(f"n must not exceed {maximum}", {"n": n, "maximum": maximum})
    last = request.query.get("last") or None
    return Page(n, last)


def link_header(path: str, n: int, last: str) -> str:
    """The RFC 8288 ``Link`` value pointing at the page after ``last``."""
    return f'<{path}?{urlencode({"n": n, "last": last})}>; rel="next"'


def paginate(entries: Sequence[str], page: Page) -> tuple[list[str], bool]:
    """Slice sorted ``entries`` for ``page``; also tell whether entries remain after the slice."""
    if page.n == 0:
        return [], False  # n=0: an empty list and no Link, whatever remains
    start = bisect.bisect_right(entries, page.last) if page.last is not None else 0
    rest = entries[start:]
    if page.n is None:
        return list(rest), False
    return list(rest[: page.n]), len(rest) > page.n
