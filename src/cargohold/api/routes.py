"""One catch-all under ``<prefix>/v2/`` that parses the path itself.

Repository names contain slashes, so every pattern is anchored at the end of the path and the
name is whatever precedes it. Parsing our own path (rather than letting a router's regex fail)
means a malformed name is a 400 NAME_INVALID, not a 404, and a method the resource does not
support is a 405 UNSUPPORTED with ``Allow``. The raw path is split on ``/`` *before*
percent-decoding, so ``%2F`` cannot add a segment and ``%2e%2e`` decodes into a component that
the name, digest, tag or upload-id grammar then rejects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from aiohttp import web

from cargohold.api import context, openapi
from cargohold.api.context import Kind, Match
from cargohold.api.errcode import error_response
from cargohold.api.handlers import base, blobs, catalog, manifests, referrers, tags, uploads
from cargohold.errors import NameInvalid
from cargohold.reference import validate_name

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# HEAD is served wherever GET is (RFC 9110 §9.3.2); aiohttp drops the body.
ROUTES: dict[Kind, dict[str, Handler]] = {
    Kind.BASE: {"GET": base.get, "HEAD": base.get},
    Kind.CATALOG: {"GET": catalog.get, "HEAD": catalog.get},
    Kind.TAGS: {"GET": tags.get, "HEAD": tags.get},
    Kind.BLOB: {"GET": blobs.get, "HEAD": blobs.get, "DELETE": blobs.delete},
    Kind.UPLOADS: {"POST": uploads.start},
    Kind.UPLOAD: {
        "GET": uploads.status,
        "HEAD": uploads.status,
        "PATCH": uploads.patch,
        "PUT": uploads.put,
        "DELETE": uploads.cancel,
    },
    Kind.MANIFEST: {
        "GET": manifests.get,
        "HEAD": manifests.get,
        "PUT": manifests.put,
        "DELETE": manifests.delete,
    },
    Kind.REFERRERS: {"GET": referrers.get, "HEAD": referrers.get},
}

# Trailing literal segments that identify a resource, checked in this order.
_SUFFIXES: tuple[tuple[tuple[str, ...], Kind, bool], ...] = (
    # (literal segments before the final one, kind, whether the final segment is a reference)
    (("blobs", "uploads"), Kind.UPLOAD, True),
    (("tags",), Kind.TAGS, False),
    (("blobs",), Kind.BLOB, True),
    (("manifests",), Kind.MANIFEST, True),
    (("referrers",), Kind.REFERRERS, True),
)


def split(tail: str) -> tuple[Kind, list[str], str] | None:
    """Split the raw (still percent-encoded) path after ``/v2/`` into kind, name segments, reference.

    Returns None when no pattern matches. Name segments and the reference are decoded here;
    nothing is validated.
    """
    if tail == "":
        return Kind.BASE, [], ""
    if tail == "_catalog":
        return Kind.CATALOG, [], ""
    segments = tail.split("/")
    if len(segments) >= 4 and segments[-3:] == ["blobs", "uploads", ""]:
        return Kind.UPLOADS, [unquote(s) for s in segments[:-3]], ""
    for literals, kind, has_reference in _SUFFIXES:
        width = len(literals) + 1
        if len(segments) <= width:
            continue
        if tuple(segments[-width:-1]) != literals:
            continue
        if not has_reference and segments[-1] != "list":
            continue
        name = [unquote(s) for s in segments[:-width]]
        return kind, name, unquote(segments[-1]) if has_reference else ""
    return None


def validated_name(segments: list[str]) -> str:
    """Join decoded name segments; raise NameInvalid unless the result is a valid name."""
    if any("/" in s for s in segments):
        # A decoded %2F would smuggle a separator past the segment split.
        raise NameInvalid("invalid repository name: encoded '/'", {"name": "/".join(segments)})
    return validate_name("/".join(segments))


def v2_tail(request: web.Request) -> str | None:
    """The raw path after ``<prefix>/v2/``; ``""`` for the base; None when outside the API."""
    root = f"{context.settings(request).prefix}/v2"
    raw = request.rel_url.raw_path
    if raw == root:
        return ""
    if raw.startswith(f"{root}/"):
        return raw[len(root) + 1 :]
    return None


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Resolve the path, check the method, validate the name and call the resource's handler."""
    tail = v2_tail(request)
    parsed = split(tail) if tail is not None else None
    if parsed is None:
        return error_response("UNSUPPORTED", "no such endpoint", status=404)
    kind, segments, reference = parsed
    methods = ROUTES[kind]
    handler = methods.get(request.method)
    if handler is None:
        return error_response(
            "UNSUPPORTED",
            f"method {request.method} not allowed on this endpoint",
            headers={"Allow": ", ".join(sorted(methods))},
        )
    name = validated_name(segments) if kind not in (Kind.BASE, Kind.CATALOG) else ""
    request[context.MATCH] = Match(kind, name, reference)
    return await handler(request)


def add_routes(app: web.Application, prefix: str) -> None:
    """Route everything under ``<prefix>/v2`` to :func:`dispatch`, and the API's OpenAPI document."""
    app.router.add_get(f"{prefix}/openapi.yaml", openapi.handler())
    app.router.add_route("*", f"{prefix}/v2", dispatch)
    # [\s\S], not ".": a percent-decoded CR or LF in the path must reach dispatch (and its 400),
    # not fall through to aiohttp's plain-text 404.
    app.router.add_route("*", f"{prefix}/v2/{{tail:[\\s\\S]*}}", dispatch)
