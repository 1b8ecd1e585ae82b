"""``GET <prefix>/openapi.yaml``: the OpenAPI 3 description of this API, shipped in the package."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources

from aiohttp import web

CONTENT_TYPE = "application/yaml"


def document() -> bytes:
    """The packaged ``openapi.yaml``."""
    return resources.files("cargohold.api").joinpath("openapi.yaml").read_bytes()


def handler() -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler serving the document, read once when the application is built."""
    body = document()

    async def get(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type=CONTENT_TYPE)

    return get
