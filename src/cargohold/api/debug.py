"""The debug server's application (``http.debug.addr``): ``/debug/health`` and Prometheus metrics.

It reads the main application's state rather than owning any: its health checks
(:data:`cargohold.api.health.HEALTH`) and its metrics registry, or every worker's metrics merged
when serving with several workers (:mod:`cargohold.metrics.multiprocess`). An application
without those keys (a test double) gets an empty health report and an empty registry.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from cargohold.api import context
from cargohold.api.health import HEALTH
from cargohold.config import DebugConfig
from cargohold.metrics import multiprocess

__all__ = ["create_debug_app"]

_TARGET: web.AppKey[web.Application] = web.AppKey("cargohold_debug_target", web.Application)


def create_debug_app(app: web.Application, debug: DebugConfig) -> web.Application:
    """The debug application for ``app``; metrics are served only if ``prometheus.enabled``."""
    debug_app = web.Application()
    debug_app[_TARGET] = app
    debug_app.router.add_get("/debug/health", _health)
    if debug.prometheus.enabled:
        debug_app.router.add_get(debug.prometheus.path, _metrics)
    return debug_app


async def _health(request: web.Request) -> web.Response:
    """Failing checks and their errors as JSON; 503 if there is any, as in Distribution."""
    health = request.app[_TARGET].get(HEALTH)
    failing = health.status() if health is not None else {}
    return web.Response(
        status=503 if failing else 200,
        body=json.dumps(failing).encode(),
        content_type="application/json",
        charset="utf-8",
    )


async def _metrics(request: web.Request) -> web.Response:
    """The Prometheus exposition, in the format the scraper's ``Accept`` prefers."""
    target = request.app[_TARGET]
    metrics = target.get(context.METRICS)
    registry = metrics.registry if metrics is not None else CollectorRegistry()
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    # Collecting many workers' files is disk I/O: keep it off the event loop.
    body = await asyncio.to_thread(encoder, multiprocess.exposition_registry(registry))
    return web.Response(body=body, headers={"Content-Type": content_type})
