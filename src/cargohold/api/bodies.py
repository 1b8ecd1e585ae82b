"""Request and response bodies under ``http.timeout.read``/``write``: a stalled peer holds only its
own connection, and only for as long as the configuration allows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from cargohold.api import context
from cargohold.errors import InvalidInput

T = TypeVar("T")


async def request_chunks(
    request: web.Request, size: int, error: type[InvalidInput]
) -> AsyncIterator[bytes]:
    """The request body in chunks of at most ``size`` bytes, as they arrive.

    Pieces are passed on as the connection delivered them, not joined into ``size``-byte chunks:
    a join would copy every byte of an upload once more. Raises ``error`` when the body ends
    before its declared length (the client went away or sent a broken chunked encoding) or
    when no byte arrives for ``http.timeout.read`` seconds.
    """
    timeout = context.settings(request).read_timeout or None
    content = request.content
    while True:
        try:
            async with asyncio.timeout(timeout):
                # An empty piece marks the end of the body or of an HTTP chunk.
                piece, _ = await content.readchunk()
        except TimeoutError:
            raise error(
                f"no request body data received for {timeout:g} seconds", {"timeout": timeout}
            ) from None
        except (ConnectionError, HttpProcessingError) as exc:
            raise error("request body ended before its declared length") from exc
        if not piece:
            if content.at_eof():
                return
            continue
        for start in range(0, len(piece), size):
            yield piece if len(piece) <= size else piece[start : start + size]


async def within_write_timeout(request: web.Request, operation: Awaitable[T]) -> T:
    """Await a response write under ``http.timeout.write``; see :func:`within`."""
    return await within(request.transport, context.settings(request).write_timeout, operation)


async def within(
    transport: asyncio.BaseTransport | None, seconds: float, operation: Awaitable[T]
) -> T:
    """Await ``operation``; if it takes over ``seconds`` (0: no limit), abort
    ``transport`` and raise ConnectionResetError, which aiohttp treats as a client disconnect."""
    try:
        async with asyncio.timeout(seconds or None):
            return await operation
    except TimeoutError:
        if isinstance(transport, asyncio.Transport):
            transport.abort()
        raise ConnectionResetError(f"client accepted no data for {seconds:g} seconds") from None
