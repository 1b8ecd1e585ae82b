"""Health checks as in CNCF Distribution's ``health`` section, the 503 gate and ``GET /``.

A :class:`PeriodicCheck` probes every ``interval`` (the first probe at start-up) and reports
its last error once ``threshold`` consecutive probes failed; one success clears it. Checks:

- ``storagedriver_<driver>`` when ``health.storagedriver.enabled``: a stat of the layout root
  (``/docker/registry/v2``), where "not found" is healthy (a registry nothing was pushed to yet)
  and any other error is not. While it fails, every response of the main server, ``GET /``
  included, is 503 ``UNAVAILABLE``, as Distribution's ``health.Handler`` does.
- ``redis`` when the blob descriptor cache is Redis: a ``PING`` bounded by the Redis timeouts,
  with the storage check's interval and threshold. It is reported on ``/debug/health`` but does
  not gate the API: the cache is an optimisation and every request falls back to storage.

``/debug/health`` (on the debug server, :mod:`cargohold.api.debug`) answers Distribution's JSON:
``{}`` and 200 when all is well, else ``{"<check>": "<error>"}`` and 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler

from cargohold.api import context
from cargohold.config import Config
from cargohold.errors import PathNotFound, Unavailable
from cargohold.storage import paths
from cargohold.storage.cache.base import BlobDescriptorCacheProvider
from cargohold.storage.driver.base import StorageDriver

__all__ = [
    "HEALTH",
    "UNHEALTHY_DETAIL",
    "Health",
    "PeriodicCheck",
    "alive",
    "health_middleware",
    "install_health",
    "redis_probe",
    "storage_probe",
]

log = logging.getLogger("cargohold.health")

Probe = Callable[[], Awaitable[None]]

UNHEALTHY_DETAIL = "health check failed: please see /debug/health"
# A probe may not take longer than this even when the interval is long.
_MAX_PROBE_SECONDS = 30.0


@dataclass
class PeriodicCheck:
    """One named probe run every ``interval`` seconds; failing after ``threshold`` failures in a row.

    ``gates`` says whether a failure turns API responses into 503s.
    """

    name: str
    probe: Probe
    interval: float
    threshold: int = 1
    gates: bool = True
    timeout: float = _MAX_PROBE_SECONDS
    failures: int = field(default=0, init=False)
    last_error: str | None = field(default=None, init=False)

    @property
    def error(self) -> str | None:
        """The error to report, or None while healthy (fewer than ``threshold`` failures)."""
        return self.last_error if self.failures >= self.threshold else None

    def update(self, error: str | None) -> None:
        """Record one probe's outcome (None for success)."""
        was = self.error
        if error is None:
            self.failures = 0
        elif self.failures < self.threshold:
            self.failures += 1
        self.last_error = error
        now = self.error
        if now is not None and was is None:
            log.error("health check %s failing: %s", self.name, now)
        elif now is None and was is not None:
            log.info("health check %s passing again", self.name)

    async def check_once(self) -> None:
        """Run the probe once (bounded by ``timeout``) and record its outcome."""
        try:
            async with asyncio.timeout(self.timeout):
                await self.probe()
        except TimeoutError:
            self.update(f"timed out after {self.timeout:g}s")
        except Exception as exc:  # any failure is unhealthy, whatever its type
            self.update(str(exc) or type(exc).__name__)
        else:
            self.update(None)

    async def run(self) -> None:
        """Probe now and then every ``interval`` until cancelled."""
        while True:
            await self.check_once()
            await asyncio.sleep(self.interval)


class Health:
    """The checks of one application and their combined status."""

    def __init__(self, checks: list[PeriodicCheck] | None = None) -> None:
        self.checks = list(checks or [])

    def status(self) -> dict[str, str]:
        """Failing checks by name, with their errors (Distribution's ``CheckStatus``)."""
        return {c.name: c.error for c in self.checks if c.error is not None}

    def unavailable(self) -> bool:
        """Whether a gating check fails, so the API must answer 503."""
        return any(c.gates and c.error is not None for c in self.checks)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run every check in the background for the duration of the block."""
        tasks = [asyncio.create_task(c.run(), name=f"health:{c.name}") for c in self.checks]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def storage_probe(driver: StorageDriver) -> None:
    """Stat the layout root; PathNotFound means the backend answered, which is healthy."""
    with contextlib.suppress(PathNotFound):
        await driver.stat(paths.ROOT)


async def redis_probe(cache: BlobDescriptorCacheProvider) -> None:
    """PING the Redis behind ``cache`` within its call deadline."""
    from cargohold.storage.cache.redis import RedisBlobDescriptorCache

    assert isinstance(cache, RedisBlobDescriptorCache)
    async with asyncio.timeout(cache.deadline):
        await cache.client.ping()


def _checks(
    config: Config, driver: StorageDriver, cache: BlobDescriptorCacheProvider | None
) -> list[PeriodicCheck]:
    settings = config.health.storagedriver
    interval, threshold = settings.interval.total_seconds(), settings.threshold
    timeout = min(max(interval, 1.0), _MAX_PROBE_SECONDS)
    checks: list[PeriodicCheck] = []
    if settings.enabled:

        async def storage() -> None:
            await storage_probe(driver)

        name = f"storagedriver_{config.storage.driver_name}"
        checks.append(PeriodicCheck(name, storage, interval, threshold, timeout=timeout))
    if cache is not None and cache.name == "redis":

        async def redis() -> None:
            await redis_probe(cache)

        checks.append(PeriodicCheck("redis", redis, interval, threshold, gates=False))
    return checks


HEALTH: web.AppKey[Health] = web.AppKey("cargohold_health", Health)


def install_health(app: web.Application, config: Config) -> None:
    """Create the app's checks (from its driver and cache), run them while it runs, serve ``GET /``."""
    health = Health(_checks(config, app[context.DRIVER], app[context.CACHE]))
    app[HEALTH] = health

    async def run(app: web.Application) -> AsyncIterator[None]:
        async with health.running():
            yield

    app.cleanup_ctx.append(run)
    app.router.add_get("/", alive)


async def alive(request: web.Request) -> web.Response:
    """``GET /``: 200 with an empty body for load balancers (503 while unhealthy, via the gate)."""
    return web.Response(headers={"Cache-Control": "no-cache"})


@web.middleware
async def health_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 503 UNAVAILABLE to everything while a gating check fails."""
    health = request.app.get(HEALTH)
    if health is not None and health.unavailable():
        raise Unavailable("service unavailable", UNHEALTHY_DETAIL)
    return await handler(request)
