"""``create_app(config)``: the registry's aiohttp application, built from configuration alone.

Everything the handlers use (driver, cache, registry, settings) is created here and stored
under typed ``web.AppKey``s; nothing lives at module level. The driver and cache are closed in
the application's cleanup context. Middleware, outermost first: the combined request middleware
(request id, span, metrics and access log, error mapping), the health gate, the read-only guard.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from cargohold.api import context
from cargohold.api.context import ApiSettings
from cargohold.api.handlers import tags
from cargohold.api.health import health_middleware, install_health
from cargohold.api.instrumentation import close_tracing, remember_response, request_middleware
from cargohold.api.middleware import add_common_headers, read_only_middleware
from cargohold.api.routes import add_routes
from cargohold.config import Config
from cargohold.metrics import Metrics
from cargohold.storage.base import Registry
from cargohold.storage.cache.factory import create_cache_provider
from cargohold.storage.driver.factory import create_driver
from cargohold.storage.driver.instrumented import InstrumentedDriver
from cargohold.storage.purge import PurgePolicy, upload_purger
from cargohold.storage.registry import create_registry
from cargohold.tracing import create_tracing


async def _close_storage(app: web.Application) -> AsyncIterator[None]:
    yield
    try:
        cache = app[context.CACHE]
        if cache is not None:
            await cache.aclose()
    finally:
        await app[context.DRIVER].aclose()


def _purger(config: Config) -> Callable[[web.Application], AsyncIterator[None]]:
    """Upload purging for the app's lifetime; off in read-only mode, which forbids all writes."""
    purging = config.storage.maintenance.uploadpurging
    policy = PurgePolicy(
        enabled=purging.enabled and not config.storage.maintenance.readonly.enabled,
        age=purging.age.total_seconds(),
        interval=purging.interval.total_seconds(),
        dry_run=purging.dryrun,
    )

    async def run(app: web.Application) -> AsyncIterator[None]:
        async with upload_purger(app[context.DRIVER], policy):
            yield

    return run


def create_app(config: Config, *, metrics: Metrics | None = None) -> web.Application:
    """Build the registry application for ``config``, recording into ``metrics`` (fresh if None).

    Raises ValueError for an unknown driver, driver parameter or cache kind, or for tracing that
    ``OTEL_*`` variables ask for and cannot get (TracingUnavailable). Request bodies are
    streamed, never buffered, so ``client_max_size`` only bounds accidental ``read()`` calls.
    """
    settings = ApiSettings.from_config(config)
    metrics = metrics if metrics is not None else Metrics()
    # The cache first: building it opens no connection, so a bad kind leaves nothing to close.
    cache = create_cache_provider(
        config.storage.cache.blobdescriptor or None,
        config.storage.cache.blobdescriptorsize,
        config.redis,
        metrics=metrics,
    )
    tracing = create_tracing()
    # The one place drivers are wrapped: every storage call is timed (and traced when on).
    driver = InstrumentedDriver(
        create_driver(config.storage.driver_name, config.storage.driver_params),
        metrics.storage,
        tracing,
    )
    registry: Registry = create_registry(
        driver,
        delete_enabled=config.storage.delete.enabled,
        cache=cache,
        redirect=not config.storage.redirect.disable,
        read_only=config.storage.maintenance.readonly.enabled,
    )
    app = web.Application(
        middlewares=[
            request_middleware(tracing),
            health_middleware,
            read_only_middleware,
        ],
        client_max_size=settings.max_manifest_size,
    )
    app[context.SETTINGS] = settings
    app[context.METRICS] = metrics
    app[context.DRIVER] = driver
    app[context.CACHE] = cache
    app[context.REGISTRY] = registry
    app[tags.BODIES] = tags.EncodedLists()
    if tracing is not None:
        app.cleanup_ctx.append(close_tracing(tracing))  # first in, so spans flush last
    app.cleanup_ctx.append(_close_storage)
    app.cleanup_ctx.append(_purger(config))
    app.on_response_prepare.append(add_common_headers)
    app.on_response_prepare.append(remember_response)
    install_health(app, config)
    add_routes(app, settings.prefix)
    return app
