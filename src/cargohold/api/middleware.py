"""Request ids, error mapping, the read-only guard and the response-prepare hook.

:func:`assign_request_id` and :func:`map_error` are steps of the combined
:func:`cargohold.api.instrumentation.request_middleware` (outermost), which runs before the
health gate and :func:`read_only_middleware`. Common headers are added in
``on_response_prepare`` so they also reach streamed responses and aiohttp's own errors.
"""

from __future__ import annotations

import itertools
import logging
import os
import re

from aiohttp import web
from aiohttp.typedefs import Handler

from cargohold.api import context, routes
from cargohold.api.errcode import error_response, exception_response
from cargohold.errors import CargoholdError, ReadOnly

log = logging.getLogger("cargohold.api")

API_VERSION_HEADER = "Docker-Distribution-API-Version"
API_VERSION = "registry/2.0"
REQUEST_ID_HEADER = "X-Request-Id"

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Echo a client's id only if it cannot inject anything into headers or logs.
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _started(request: web.Request) -> bool:
    """Whether response bytes already went out, so no error response can follow."""
    return request.writer.output_size > 0


class _RequestIds:
    """32 hex digits: 64 random bits drawn once per process, then a 64-bit counter.

    Unique across workers and restarts like ``uuid4().hex`` (same length and alphabet), without a
    ``getrandom`` syscall per request. Forked children draw their own prefix.
    """

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


# Process-wide by nature (uniqueness is per process), hence module-level; no resource is held.
new_request_id = _RequestIds()
os.register_at_fork(after_in_child=new_request_id.reseed)


def assign_request_id(request: web.Request) -> str:
    """Adopt a well-formed ``X-Request-Id`` or generate one, store it on ``request``, return it.

    The prepare hook (:func:`add_common_headers`) echoes it.
    """
    incoming = request.headers.get(REQUEST_ID_HEADER)
    rid = incoming if incoming and _REQUEST_ID_RE.fullmatch(incoming) else new_request_id()
    request[context.REQUEST_ID] = rid
    return rid


def map_error(request: web.Request, exc: Exception) -> web.Response:
    """The response for an exception a handler raised, or ``exc`` again if bytes already went out.

    Domain errors go through the errcode table; anything else is a logged 500 UNKNOWN.
    """
    if _started(request):
        raise exc
    if isinstance(exc, CargoholdError):
        response = exception_response(exc)
        if response.status != 500:
            return response
        # A storage failure's message names internals (paths, drivers): log it, don't send it.
    return _internal_error(request, exc)


def _internal_error(request: web.Request, exc: Exception) -> web.Response:
    """Log ``exc`` with the request id; answer 500 UNKNOWN naming only that id."""
    rid = context.request_id(request)
    log.error("request %s %s %s failed: %r", rid, request.method, request.path, exc, exc_info=exc)
    return error_response(
        "UNKNOWN", f"internal server error (request id {rid})", {"request_id": rid}
    )


@web.middleware
async def read_only_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse every write under /v2/ while ``storage.maintenance.readonly`` is enabled."""
    if (
        context.settings(request).read_only
        and request.method in _WRITE_METHODS
        and routes.v2_tail(request) is not None
    ):
        raise ReadOnly("registry is in read-only mode")
    return await handler(request)


async def add_common_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: API version, request id and configured ``http.headers``."""
    response.headers[API_VERSION_HEADER] = API_VERSION
    rid = request.get(context.REQUEST_ID)
    if rid is not None:
        response.headers[REQUEST_ID_HEADER] = rid
    for name, values in request.app[context.SETTINGS].headers.items():
        # A handler's own value wins, as in Distribution (configured headers are defaults).
        if name in response.headers:
            continue
        for value in values:
            response.headers.add(name, value)
