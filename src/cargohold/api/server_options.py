"""How aiohttp serves the registry: HTTP parser limits, idle timeout and spec-shaped parse errors.

aiohttp answers a request it cannot parse with a plain-text 400 before any application code
runs. :class:`RegistryRunner` swaps in a request handler that answers those with an OCI error
body instead, and with the status the condition has: 414 for an over-long request line
(RFC 9110 §15.5.15), 431 for over-long or too many header fields (RFC 6585 §5), 405 for a
method the parser does not know, and never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from cargohold.api.errcode import error_response
from cargohold.config.http import HTTPConfig

__all__ = ["RegistryRunner", "ServerOptions", "parse_error_response"]

log = logging.getLogger("cargohold.api")

# aiohttp's defaults, which match common proxies (nginx's large_client_header_buffers is 8 KiB).
MAX_LINE_SIZE = 8190
MAX_FIELD_SIZE = 8190
MAX_HEADERS = 128
LINGERING_TIME = 10.0  # aiohttp's default
# A request body may buffer this much (and pauses reading at twice that) before the handler
# takes it. aiohttp's 64 KiB paused and resumed the socket every few pieces of an upload;
# 1 MiB measured 4-5 % faster on chunked pushes, for at most 2 MiB per uploading connection.
READ_BUFSIZE = 1 << 20
# "Disabled" idle timeout: aiohttp needs a finite number to schedule its timer.
_NO_TIMEOUT = 365 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Connection-level settings of the HTTP server; times in seconds, 0 disables a timeout."""

    idle_timeout: float = 120.0
    # After answering a request whose body was not read (an error, a stalled upload), aiohttp
    # keeps reading and discarding it this long so the client sees the answer, not a reset.
    lingering_time: float = LINGERING_TIME
    max_line_size: int = MAX_LINE_SIZE
    max_field_size: int = MAX_FIELD_SIZE
    max_headers: int = MAX_HEADERS
    read_bufsize: int = READ_BUFSIZE

    @classmethod
    def from_config(cls, http: HTTPConfig) -> ServerOptions:
        """Read ``http.timeout.idle`` and ``read`` (which bounds lingering too: a client that
        stalled its body would only hold the connection longer); the parser limits keep
        aiohttp's defaults."""
        read = http.timeout.read.total_seconds()
        return cls(
            idle_timeout=http.timeout.idle.total_seconds(),
            lingering_time=min(read, LINGERING_TIME) if read else LINGERING_TIME,
        )

    def handler_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``web.AppRunner`` that aiohttp hands to each connection."""
        return {
            # Covers a connection that never completes its request headers too (slowloris):
            # aiohttp arms this timer when the connection opens.
            "keepalive_timeout": self.idle_timeout or _NO_TIMEOUT,
            "lingering_time": self.lingering_time,
            "max_line_size": self.max_line_size,
            "max_field_size": self.max_field_size,
            "max_headers": self.max_headers,
            "read_bufsize": self.read_bufsize,
        }


def _is_request_line(exc: LineTooLong) -> bool:
    """Whether the over-long line is the request line rather than a header field.

    aiohttp's C parser reports the URL it was accumulating (which starts with ``/``, or is a
    ``bytearray``), its pure-Python parser the whole request line (``METHOD SP target``).
    """
    line = exc.args[0] if exc.args else b""
    if isinstance(line, bytearray):
        return True
    if isinstance(line, str):
        line = line.encode("latin-1", "replace")
    if not isinstance(line, bytes):
        return False
    method, _, rest = line.partition(b" ")
    return line.startswith(b"/") or (method.isalpha() and method.isupper() and rest[:1] == b"/")


def parse_error_response(status: int, exc: BaseException | None) -> web.Response:
    """The OCI error response for a request aiohttp failed to parse (or a last-resort 500)."""
    if isinstance(exc, LineTooLong):
        if _is_request_line(exc):
            return error_response(
                "UNKNOWN",
                f"request line longer than {exc.args[1]} bytes",
                {"limit": exc.args[1]},
                status=414,
            )
        return error_response(
            "UNKNOWN", f"header field longer than {exc.args[1]} bytes", status=431
        )
    if isinstance(exc, BadHttpMethod):
        # RFC 9110 §15.6.2 would say 501; an unknown method is the client's doing, not ours.
        return error_response("UNSUPPORTED", "request method not recognised", status=405)
    if isinstance(exc, HttpProcessingError) and status < 500:
        message = (exc.message or "malformed request").splitlines()[0]
        if "too many headers" in message.lower():
            return error_response("UNKNOWN", message, status=431)
        return error_response("UNKNOWN", f"malformed HTTP request: {message}", status=status)
    return error_response("UNKNOWN", "internal server error", status=500)


class _RegistryRequestHandler(RequestHandler):
    """aiohttp's connection handler, with errors rendered as OCI error bodies."""

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if isinstance(exc, ConnectionError) or request.writer.output_size > 0:
            # The client is gone, or a response is half sent: nothing more can be said on this
            # connection. aiohttp closes it quietly on ConnectionError.
            log.debug("dropping connection for %s %s: %r", request.method, request.path, exc)
            raise ConnectionResetError("connection lost while responding") from exc
        if status >= 500:
            log.error("unhandled error serving %s %s", request.method, request.path, exc_info=exc)
        else:
            log.debug("unparsable request: %r", exc)
        response = parse_error_response(status, exc)
        response.headers["Docker-Distribution-API-Version"] = "registry/2.0"
        # The parser's state is unknown past the error: the connection cannot be reused.
        response.force_close()
        return response


class _RegistryServer(web.Server):
    """A ``web.Server`` whose connections use :class:`_RegistryRequestHandler`."""

    def __call__(self) -> RequestHandler:
        return _RegistryRequestHandler(self, loop=self._loop, **self._kwargs)


class RegistryRunner(web.AppRunner):
    """``web.AppRunner`` for the registry: ``options`` applied to every connection."""

    def __init__(self, app: web.Application, options: ServerOptions, **kwargs: Any) -> None:
        super().__init__(app, **options.handler_kwargs(), **kwargs)

    async def _make_server(self) -> web.Server:
        # The application builds its plain Server (running startup hooks); ours takes over its
        # handler, request factory and per-connection arguments unchanged.
        plain = await super()._make_server()
        return _RegistryServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **plain._kwargs,
        )
