"""Conditional requests on immutable content, whose strong ETag is ``"<digest>"``."""

from __future__ import annotations

from aiohttp import web

from cargohold.reference import Digest


def etag(digest: Digest) -> str:
    return f'"{digest}"'


def none_match(request: web.Request, digest: Digest) -> bool:
    """Whether ``If-None-Match`` matches, so a GET/HEAD should be 304 (RFC 9110 §13.1.2).

    Weak comparison, as §13.1.2 requires; unquoted digests are accepted too, as Distribution does.
    """
    tag = etag(digest)
    for header in request.headers.getall("If-None-Match", []):
        for candidate in header.split(","):
            value = candidate.strip()
            if value == "*":
                return True
            if value.startswith("W/"):
                value = value[2:]
            if value in (tag, str(digest)):
                return True
    return False


def range_applies(request: web.Request, digest: Digest) -> bool:
    """Whether ``Range`` may be honoured: no ``If-Range``, or one naming our ETag (RFC 9110 §13.1.5)."""
    condition = request.headers.get("If-Range")
    return condition is None or condition.strip() == etag(digest)
