"""Per-request observation: Prometheus HTTP and blob metrics, the access log, log context, spans.

:func:`request_middleware`, the application's outermost middleware, does the per-request work
in one layer, in this order: assign the request id; open a SERVER span continuing the caller's
``traceparent`` when ``OTEL_*`` asks for tracing; observe; map handler errors to responses.

Observing a request binds ``request_id`` into the log context (so every line of the request
carries it), sends the response itself (prepare and EOF) so that latency and sizes include the
body, then records ``registry_http_*{handler,...}`` under Distribution's route names and the
blob upload/byte counters, and writes one access log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import Counter
from structlog.contextvars import bind_contextvars, reset_contextvars

from cargohold.api import context, routes
from cargohold.api.context import Kind
from cargohold.api.middleware import assign_request_id, map_error
from cargohold.logging import ACCESS_LOGGER, log_access
from cargohold.metrics import BlobMetrics, HTTPMetrics, Metrics

if TYPE_CHECKING:
    from cargohold.tracing import Tracing

__all__ = [
    "ROUTE_NAMES",
    "ROUTE_TEMPLATES",
    "close_tracing",
    "remember_response",
    "request_middleware",
    "route_kind",
]

_access_log = logging.getLogger(ACCESS_LOGGER)

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


class _RouteMetrics:
    """The labelled children of one (route, method): ``labels()`` is too slow to call per request."""

    __slots__ = ("_by_status", "_http", "duration", "in_flight", "request_size", "response_size")

    def __init__(self, http: HTTPMetrics, route: str, method: str) -> None:
        self.in_flight = http.in_flight.labels(route)
        self.duration = http.duration.labels(route, method)
        self.request_size = http.request_size.labels(route)
        self.response_size = http.response_size.labels(route)
        self._http = (http.requests, route, method)
        self._by_status: dict[int, Counter] = {}

    def requests(self, status: int) -> Counter:
        """``registry_http_requests_total{handler,code,method}`` for ``status``."""
        child = self._by_status.get(status)
        if child is None:
            requests, route, method = self._http
            child = self._by_status[status] = requests.labels(route, str(status), method)
        return child


# Children per Metrics object (one per app), dropped with it. Methods are client-chosen, so each
# cache is bounded; past the bound a request labels its metrics the slow way, as before.
_ROUTE_METRICS: weakref.WeakKeyDictionary[Metrics, dict[tuple[Kind, str], _RouteMetrics]] = (
    weakref.WeakKeyDictionary()
)
_MAX_CACHED_ROUTES = 256


def _route_metrics(metrics: Metrics, kind: Kind, route: str, method: str) -> _RouteMetrics:
    cache = _ROUTE_METRICS.get(metrics)
    if cache is None:
        cache = _ROUTE_METRICS.setdefault(metrics, {})
    found = cache.get((kind, method))
    if found is None:
        found = _RouteMetrics(metrics.http, route, method)
        if len(cache) < _MAX_CACHED_ROUTES:
            cache[kind, method] = found
    return found


def request_middleware(tracing: Tracing | None = None) -> Middleware:
    """The outermost middleware: request id, a span (if ``tracing``), observation, error mapping.

    The response is fully sent when it returns; one coroutine per request, not one per step.
    """
    if tracing is None:

        @web.middleware
        async def handle(request: web.Request, handler: Handler) -> web.StreamResponse:
            assign_request_id(request)
            return await _observe(request, handler)

        return handle

    @web.middleware
    async def traced(request: web.Request, handler: Handler) -> web.StreamResponse:
        assign_request_id(request)
        return await _traced(tracing, request, handler)

    return traced


async def _observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run ``handler`` (its errors mapped to responses), send the response, then count and log."""
    kind = route_kind(request)
    metrics = request.app[context.METRICS]
    observed: _RouteMetrics | None = None
    route: str | None = None
    if kind is not None:
        route = ROUTE_NAMES[kind]
        observed = _route_metrics(metrics, kind, route, request.method)
        observed.in_flight.inc()
    started = time.perf_counter()
    status, sent, failure = 500, 0, ""
    # Bound so every line logged meanwhile carries the id. aiohttp gives each request its own
    # task (a copy of the context); resetting anyway is cheap and right for any other caller.
    tokens = bind_contextvars(request_id=context.request_id(request))
    try:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            # aiohttp sends raised HTTP exceptions itself; returning one is deprecated.
            status, sent = exc.status, _body_bytes(request, exc)
            raise
        except Exception as exc:
            # Re-raised when bytes already went out; the outer handlers then record the failure.
            response = map_error(request, exc)
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
        try:
            if observed is not None:
                observed.in_flight.dec()
                observed.requests(status).inc()
                observed.duration.observe(elapsed)
                observed.request_size.observe(request.content.total_bytes)
                observed.response_size.observe(sent)
                _record_blob(metrics.blob, kind, request, status, sent)
            if _access_log.isEnabledFor(logging.INFO):
                _access(request, route, status, sent, elapsed, failure)
        finally:
            reset_contextvars(**tokens)


def _access(
    request: web.Request, route: str | None, status: int, sent: int, elapsed: float, failure: str
) -> None:
    """One line per request: a combined-log-like message plus the same facts as fields."""
    match = request.get(context.MATCH)
    # The path without its query: query strings are the one place a client might put a token.
    path = request.rel_url.raw_path
    version = request.version
    remote = request.remote
    method = request.method
    fields: dict[str, object] = {
        "method": method,
        "path": path,
        "route": route,
        "repository": (match.name or None) if match is not None else None,
        "status": status,
        "bytes": sent,
        "request_bytes": request.content.total_bytes,
        "duration": round(elapsed, 6),
        "remote": remote,
        "user_agent": request.headers.get("User-Agent", ""),
    }
    if failure:
        fields["error"] = failure
    log_access(
        '%s "%s %s HTTP/%s" %d %d',
        (remote, method, path, f"{version.major}.{version.minor}", status, sent),
        fields,
    )


async def _traced(tracing: Tracing, request: web.Request, handler: Handler) -> web.StreamResponse:
    """:func:`_observe` in a SERVER span ``METHOD /v2/{name}/...`` whose trace id joins the logs."""
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
        tokens = bind_contextvars(trace_id=tracing.trace_id(span))
        try:
            response = await _observe(request, handler)
        except web.HTTPException as exc:
            tracing.response_status(span, exc.status)
            raise
        finally:
            reset_contextvars(**tokens)
        tracing.response_status(span, response.status)
        return response


def close_tracing(tracing: Tracing) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context flushing and closing ``tracing`` when the application stops."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        yield
        await tracing.aclose()

    return run
