"""``GET /v2/<name>/tags/list``: the repository's tags, sorted, paginated by ``n``/``last``."""

from __future__ import annotations

from aiohttp import web

from cargohold.api import context, urls
from cargohold.api.pagination import link_header, paginate, parse_page


async def get(request: web.Request) -> web.StreamResponse:
    """All tags when ``n`` is absent; otherwise a page and, if more remain, a ``Link`` to the next."""
    name = context.match(request).name
    page = parse_page(request, default=None, maximum=None)
    everything = await context.repository(request).tags.list()
    tags, more = paginate(everything, page)
    response = web.json_response({"name": name, "tags": tags})
    if more and page.n is not None:
        response.headers["Link"] = link_header(
            urls.path(request, f"{name}/tags/list"), page.n, tags[-1]
        )
    return response
