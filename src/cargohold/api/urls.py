"""Locations the API hands out: absolute unless ``http.relativeurls``, always under ``http.prefix``.

The origin is ``http.host`` when configured, else what the client (or a proxy in front of us)
says it used: ``Forwarded`` (RFC 7239), then ``X-Forwarded-Proto``/``X-Forwarded-Host``, then the
request itself, as CNCF Distribution's URL builder does.
"""

from __future__ import annotations

import re

from aiohttp import web

from cargohold.api import context
from cargohold.reference import Digest


def _forwarded(request: web.Request) -> tuple[str | None, str | None]:
    """Proto and host from the first ``Forwarded`` element, if any."""
    proto = host = None
    for element in request.forwarded[:1]:
        proto = element.get("proto")
        host = element.get("host")
    return proto, host


def _first(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(",", 1)[0].strip() or None


def origin(request: web.Request) -> str:
    """``scheme://host`` clients should use, or ``""`` when URLs are relative."""
    settings = context.settings(request)
    if settings.relative_urls:
        return ""
    if settings.host:
        return settings.host.rstrip("/")
    proto, host = _forwarded(request)
    proto = _scheme(proto or _first(request.headers.get("X-Forwarded-Proto"))) or request.scheme
    host = _authority(host or _first(request.headers.get("X-Forwarded-Host"))) or request.host
    return f"{proto}://{host}"


# RFC 3986 §3.2.2 reg-name or IPv4, or a bracketed IPv6 literal, with an optional port. A forwarded
# value outside this grammar is ignored: it would only put garbage into a Location.
_AUTHORITY_RE = re.compile(r"(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def _scheme(value: str | None) -> str | None:
    return value.lower() if value and value.lower() in ("http", "https") else None


def _authority(value: str | None) -> str | None:
    return value if value and _AUTHORITY_RE.fullmatch(value) else None


def path(request: web.Request, suffix: str) -> str:
    """``<prefix>/v2/<suffix>`` without origin (for Link headers, which stay relative)."""
    return f"{context.settings(request).prefix}/v2/{suffix}"


def url(request: web.Request, suffix: str) -> str:
    """The full URL of ``<prefix>/v2/<suffix>``."""
    return f"{origin(request)}{path(request, suffix)}"


def blob_url(request: web.Request, name: str, digest: Digest) -> str:
    return url(request, f"{name}/blobs/{digest}")


def manifest_url(request: web.Request, name: str, digest: Digest) -> str:
    return url(request, f"{name}/manifests/{digest}")


def upload_url(request: web.Request, name: str, upload_id: str) -> str:
    return url(request, f"{name}/blobs/uploads/{upload_id}")
