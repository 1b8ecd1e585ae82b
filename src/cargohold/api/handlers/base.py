"""``GET /v2/``: the API version check (OCI distribution-spec §Determining Support)."""

from __future__ import annotations

from aiohttp import web


async def get(request: web.Request) -> web.StreamResponse:
    """200 with an empty JSON object; the prepare hook adds Docker-Distribution-API-Version."""
    return web.json_response({})
