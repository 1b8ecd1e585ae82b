"""Accept-header negotiation for manifest GETs (RFC 9110 §12.5.1), kept pure for the API to use."""

from __future__ import annotations

import re

# RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
_QVALUE_RE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
_TOKEN_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _ranges(accept_headers: list[str]) -> list[tuple[str, str, float]]:
    """Parse every header's comma-separated media ranges into (type, subtype, q); skip malformed ones."""
    out: list[tuple[str, str, float]] = []
    for header in accept_headers:
        for item in header.split(","):
            parts = [p.strip() for p in item.split(";")]
            kind, _, sub = parts[0].lower().partition("/")
            if not (_TOKEN_RE.fullmatch(kind) and _TOKEN_RE.fullmatch(sub)):
                continue
            if kind == "*" and sub != "*":
                continue
            q: float | None = 1.0
            for param in parts[1:]:
                name, _, value = param.partition("=")
                if name.strip().lower() == "q":
                    value = value.strip()
                    q = float(value) if _QVALUE_RE.fullmatch(value) else None
                    # Parameters after q are accept-extensions (RFC 9110 §12.5.1); ignore them.
                    break
            if q is not None:
                out.append((kind, sub, q))
    return out


def acceptable(media_type: str, accept_headers: list[str]) -> bool:
    """Tell whether a client sending ``accept_headers`` (all Accept field lines) accepts ``media_type``.

    No Accept header (or none that parses) accepts everything, like ``*/*``. When several ranges
    match, the most specific decides (RFC 9110 §12.5.1); ``q=0`` means "not acceptable".
    """
    ranges = _ranges(accept_headers)
    if not ranges:
        return True
    kind, _, sub = media_type.split(";", 1)[0].strip().lower().partition("/")
    best = -1
    best_q = 0.0
    for range_kind, range_sub, q in ranges:
        if range_kind == kind and range_sub == sub:
            specificity = 2
        elif range_kind == kind and range_sub == "*":
            specificity = 1
        elif range_kind == "*":
            specificity = 0
        else:
            continue
        if specificity > best:
            best, best_q = specificity, q
        elif specificity == best:
            # The same range listed twice: the client accepts it if any listing does.
            best_q = max(best_q, q)
    return best_q > 0
