"""``GET /v2/<name>/tags/list``: the repository's tags, sorted, paginated by ``n``/``last``."""

from __future__ import annotations

import json
from collections import OrderedDict

from aiohttp import web

from cargohold.api import context, urls
from cargohold.api.pagination import link_header, paginate, parse_page


class EncodedLists:
    """Encoded full tag lists, reused while storage returns the very same (kept) list object.

    Encoding 1,000 tags costs more than the rest of a request for a kept list.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._bodies: OrderedDict[str, tuple[list[str], bytes]] = OrderedDict()

    def body(self, name: str, tags: list[str]) -> bytes:
        kept = self._bodies.get(name)
        if kept is not None and kept[0] is tags:
            self._bodies.move_to_end(name)
            return kept[1]
        body = json.dumps({"name": name, "tags": tags}).encode()
        self._bodies[name] = (tags, body)
        self._bodies.move_to_end(name)
        while len(self._bodies) > self.size:
            self._bodies.popitem(last=False)
        return body


BODIES: web.AppKey[EncodedLists] = web.AppKey("cargohold_tag_bodies", EncodedLists)


async def get(request: web.Request) -> web.StreamResponse:
    """All tags when ``n`` is absent; otherwise a page and, if more remain, a ``Link`` to the next."""
    name = context.match(request).name
    page = parse_page(request, default=None, maximum=None)
    everything = await context.repository(request).tags.list()
    if page.n is None and page.last is None:
        return web.Response(
            body=request.app[BODIES].body(name, everything),
            content_type="application/json",
            charset="utf-8",
        )
    tags, more = paginate(everything, page)
    response = web.json_response({"name": name, "tags": tags})
    if more and page.n is not None:
        response.headers["Link"] = link_header(
            urls.path(request, f"{name}/tags/list"), page.n, tags[-1]
        )
    return response
