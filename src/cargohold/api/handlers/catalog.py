"""``GET /v2/_catalog``: repository names, paginated like Distribution (100 by default)."""

from __future__ import annotations

from aiohttp import web

from cargohold.api import context, urls
from cargohold.api.context import CATALOG_DEFAULT_ENTRIES
from cargohold.api.pagination import link_header, parse_page


async def get(request: web.Request) -> web.StreamResponse:
    """Up to ``n`` names after ``last``; asking for more than the configured maximum is a 400."""
    maximum = context.settings(request).catalog_max_entries
    page = parse_page(request, default=min(CATALOG_DEFAULT_ENTRIES, maximum), maximum=maximum)
    n = page.n if page.n is not None else maximum
    repositories: list[str] = []
    more = False
    if n > 0:
        # One extra name tells whether a next page exists without a second walk.
        found = await request.app[context.REGISTRY].catalog(n + 1, page.last)
        repositories, more = found[:n], len(found) > n
    response = web.json_response({"repositories": repositories})
    if more:
        response.headers["Link"] = link_header(urls.path(request, "_catalog"), n, repositories[-1])
    return response
