"""Per-request observation: Prometheus HTTP and blob metrics, the access log, log context, spans.

:func:`observe_middleware` sits just inside the request-id middleware. It binds ``request_id``
into the log context (so every line of the request carries it), sends the response itself
(prepare and EOF) so that latency and sizes include the body, then records
``registry_http_*{handler,...}`` under Distribution's route names, the blob upload/byte counters,
and writes one access log line. :func:`tracing_middleware` exists only when ``OTEL_*`` asks for
tracing and wraps each request in a SERVER span continuing the caller's ``traceparent``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Final

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from cargohold.api import context, routes
from cargohold.api.context import Kind
from cargohold.logging import ACCESS_LOGGER
from cargohold.metrics import BlobMetrics, Metrics

if TYPE_CHECKING:
    from cargohold.tracing import Tracing

__all__ = [
    "ROUTE_NAMES",
    "ROUTE_TEMPLATES",
    "close_tracing",
    "observe_middleware",
    "remember_response",
    "route_kind",
    "tracing_middleware",
]

access_log = logging.getLogger(ACCESS_LOGGER)

#: Distribution's route names as go-metrics labels them (``blob-upload`` -> ``blob_upload``).
ROUTE_NAMES: Final[Mapping[Kind, str]] = {
    Kind.BASE: "base",
    Kind.CATALOG: "catalog",
    Kind.TAGS: "tags",
    Kind.BLOB: "blob",
    Kind.UPLOADS: "blob_upload",
    Kind.UPLOAD: "blob_upload_chunk",
    Kind.MANIFEST: "manifest",
    Kind.REFERRERS: "referrers",
}

#: ``http.route`` of each kind, for span names (OTel HTTP semantic conventions).
ROUTE_TEMPLATES: Final[Mapping[Kind, str]] = {
    Kind.BASE: "/v2/",
    Kind.CATALOG: "/v2/_catalog",
    Kind.TAGS: "/v2/{name}/tags/list",
    Kind.BLOB: "/v2/{name}/blobs/{digest}",
    Kind.UPLOADS: "/v2/{name}/blobs/uploads/",
    Kind.UPLOAD: "/v2/{name}/blobs/uploads/{uuid}",
    Kind.MANIFEST: "/v2/{name}/manifests/{reference}",
    Kind.REFERRERS: "/v2/{name}/referrers/{digest}",
}

# The response a handler started itself (streamed blobs), found again if it then fails.
_PREPARED: web.RequestKey[web.StreamResponse] = web.RequestKey(
    "cargohold_prepared_response", web.StreamResponse
)
# nginx's code for "the client went away before the response": what a cancelled request logs.
CLIENT_CLOSED = 499
_NO_BODY_STATUSES = frozenset({204, 304})


def route_kind(request: web.Request) -> Kind | None:
    """The API resource the path names (before any validation); None outside /v2/ or unknown."""
    tail = routes.v2_tail(request)
    parsed = routes.split(tail) if tail is not None else None
    return parsed[0] if parsed is not None else None


async def remember_response(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: keep the response so a failure mid-body still logs its status."""
    request[_PREPARED] = response


def _body_bytes(request: web.Request, response: web.StreamResponse) -> int:
    """Body bytes of a completed response: its Content-Length (sendfile bypasses aiohttp's count)."""
    if request.method == "HEAD" or response.status in _NO_BODY_STATUSES:
        return 0
    return response.content_length or 0


def _record_blob(
    blob: BlobMetrics, kind: Kind | None, request: web.Request, status: int, sent: int
) -> None:
    """Upload outcomes and blob bytes, from the route, method and status alone."""
    method = request.method
    if kind is Kind.BLOB and method == "GET" and status in (200, 206):
        blob.pulled_bytes.inc(sent)
        return
    if not (
        (kind is Kind.UPLOADS and method == "POST")
        or (kind is Kind.UPLOAD and method in ("PATCH", "PUT"))
    ):
        return
    blob.pushed_bytes.inc(request.content.total_bytes)
    monolithic = kind is Kind.UPLOADS and "digest" in request.query
    if monolithic or (kind is Kind.UPLOADS and status == 202):
        blob.uploads_started.inc()  # a session, or a single-POST upload (OCI §Single POST)
    if status >= 400:
        blob.uploads_failed.inc()
    elif status == 201 and (monolithic or kind is Kind.UPLOAD):
        blob.uploads_completed.inc()


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Measure, log and count one request; the response is fully sent when this returns."""
    kind = route_kind(request)
    route = ROUTE_NAMES[kind] if kind is not None else None
    metrics: Metrics = request.app[context.METRICS]
    in_flight = metrics.http.in_flight.labels(route) if route is not None else None
    if in_flight is not None:
        in_flight.inc()
    started = time.perf_counter()
    status, sent, failure = 500, 0, ""
    with structlog.contextvars.bound_contextvars(request_id=context.request_id(request)):
        try:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                # aiohttp sends raised HTTP exceptions itself; returning one is deprecated.
                status, sent = exc.status, _body_bytes(request, exc)
                raise
            status = response.status
            # Sent here, not by aiohttp after we return, so latency and size include the body.
            await response.prepare(request)
            await response.write_eof()
            sent = _body_bytes(request, response)
            return response
        except asyncio.CancelledError:
            status, failure = CLIENT_CLOSED, "client closed the connection"
            raise
        except web.HTTPException:
            raise
        except BaseException as exc:
            prepared = request.get(_PREPARED)
            status = prepared.status if prepared is not None else status
            failure = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            elapsed = time.perf_counter() - started
            if in_flight is not None:
                in_flight.dec()
            if route is not None:
                received = request.content.total_bytes
                metrics.http.requests.labels(route, str(status), request.method).inc()
                metrics.http.duration.labels(route, request.method).observe(elapsed)
                metrics.http.request_size.labels(route).observe(received)
                metrics.http.response_size.labels(route).observe(sent)
                _record_blob(metrics.blob, kind, request, status, sent)
            _access(request, route, status, sent, elapsed, failure)


def _access(
    request: web.Request, route: str | None, status: int, sent: int, elapsed: float, failure: str
) -> None:
    """One line per request: a combined-log-like message plus the same facts as fields."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    match = request.get(context.MATCH)
    version = f"{request.version.major}.{request.version.minor}"
    # The path without its query: query strings are the one place a client might put a token.
    path = request.rel_url.raw_path
    fields: dict[str, object] = {
        "method": request.method,
        "path": path,
        "route": route,
        "repository": (match.name or None) if match is not None else None,
        "status": status,
        "bytes": sent,
        "request_bytes": request.content.total_bytes,
        "duration": round(elapsed, 6),
        "remote": request.remote,
        "user_agent": request.headers.get("User-Agent", ""),
    }
    if failure:
        fields["error"] = failure
    access_log.info(
        '%s "%s %s HTTP/%s" %d %d',
        request.remote,
        request.method,
        path,
        version,
        status,
        sent,
        extra=fields,
    )


def tracing_middleware(tracing: Tracing) -> Middleware:
    """A SERVER span per request named ``METHOD /v2/{name}/...``; its trace id joins the logs."""

    @web.middleware
    async def trace(request: web.Request, handler: Handler) -> web.StreamResponse:
        kind = route_kind(request)
        template = ROUTE_TEMPLATES[kind] if kind is not None else None
        attributes = {
            "http.request.method": request.method,
            "url.path": request.rel_url.raw_path,
            "http.route": template or "",
            "user_agent.original": request.headers.get("User-Agent", ""),
            "cargohold.request_id": context.request_id(request),
        }
        name = f"{request.method} {template}" if template else request.method
        with tracing.server_span(name, request.headers, attributes) as span:
            with structlog.contextvars.bound_contextvars(trace_id=tracing.trace_id(span)):
                try:
                    response = await handler(request)
                except web.HTTPException as exc:
                    tracing.response_status(span, exc.status)
                    raise
            tracing.response_status(span, response.status)
            return response

    return trace


def close_tracing(tracing: Tracing) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context flushing and closing ``tracing`` when the application stops."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        yield
        await tracing.aclose()

    return run
