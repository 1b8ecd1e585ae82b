"""Outcome counting for one blob descriptor cache, and its once-per-burst error log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from cargohold.metrics import CacheMetrics

__all__ = ["ERROR_REMINDER_INTERVAL", "CacheStats"]

log = logging.getLogger("cargohold.storage.cache")

#: Seconds between reminders while a cache keeps failing; the first error of a burst logs at once.
ERROR_REMINDER_INTERVAL = 30.0


class CacheStats:
    """Requests, hits, misses and errors of one cache type, recorded in Prometheus collectors.

    ``requests == hits + misses + errors(op="stat")`` always holds. A burst of errors (failures
    with no successful cache answer in between) is logged once when it starts, then at most every
    ``ERROR_REMINDER_INTERVAL`` seconds with the number suppressed, and once more on recovery.
    Without ``metrics`` the counters go to a private registry (tests, registries without an app).
    """

    def __init__(
        self,
        metrics: CacheMetrics | None = None,
        cache: str = "unknown",
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metrics = metrics if metrics is not None else CacheMetrics(CollectorRegistry())
        self.cache = cache
        self.last_error: BaseException | None = None
        self._clock = clock
        self._burst = 0  # errors in the current burst
        self._unreported = 0
        self._last_report = float("-inf")
        m = self.metrics
        self._requests = m.requests.labels(cache)
        self._hits = m.hits.labels(cache)
        self._misses = m.misses.labels(cache)
        self._legacy = {t: m.legacy.labels(t) for t in ("Request", "Hit", "Miss", "Error")}

    def request(self) -> None:
        self._requests.inc()
        self._legacy["Request"].inc()

    def hit(self) -> None:
        self._hits.inc()
        self._legacy["Hit"].inc()
        self._answered()

    def miss(self) -> None:
        self._misses.inc()
        self._legacy["Miss"].inc()
        self._answered()

    def error(self, op: str, exc: BaseException) -> None:
        """Count a failed cache call ``op`` (stat, set_descriptor, clear) and maybe log it."""
        self.metrics.errors.labels(self.cache, op).inc()
        if op == "stat":
            self._legacy["Error"].inc()
        self.last_error = exc
        self._burst += 1
        now = self._clock()
        if self._burst == 1:
            self._last_report = now
            log.warning(
                "blob descriptor cache %s: %s failed, serving from storage: %s",
                self.cache,
                op,
                exc,
            )
        elif now - self._last_report >= ERROR_REMINDER_INTERVAL:
            self._last_report = now
            log.warning(
                "blob descriptor cache %s still failing: %d more errors, latest %s: %s",
                self.cache,
                self._unreported + 1,
                op,
                exc,
            )
            self._unreported = 0
        else:
            self._unreported += 1

    def _answered(self) -> None:
        if self._burst:
            log.info(
                "blob descriptor cache %s answering again after %d errors", self.cache, self._burst
            )
            self._burst = 0
            self._unreported = 0

    @property
    def requests(self) -> int:
        return self._count("requests")

    @property
    def hits(self) -> int:
        return self._count("hits")

    @property
    def misses(self) -> int:
        return self._count("misses")

    @property
    def errors(self) -> int:
        """Failed cache calls of every operation."""
        return self._count("errors")

    def _count(self, outcome: str) -> int:
        return int(self.metrics.total(outcome, cache=self.cache))
