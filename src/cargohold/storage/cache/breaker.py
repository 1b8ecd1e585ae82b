"""A circuit breaker that stops calling a failing cache backend for a short, growing interval.

States: *closed* (calls go through; ``threshold`` consecutive failures open it), *open* (calls
fail fast with :class:`CircuitOpen` until the retry delay has passed), *half-open* (exactly one
probe call goes through; success closes the circuit, failure reopens it with the delay doubled,
up to ``max_delay``). Only failures that ``trips`` accepts count: a Redis that answers with an
error is alive, so a single bad key must not switch the cache off for everyone.

All state changes happen synchronously between awaits, so one breaker is safe for any number of
tasks on one event loop.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from cargohold.storage.cache.base import CircuitOpen

__all__ = ["BreakerState", "CircuitBreaker"]

log = logging.getLogger("cargohold.storage.cache")

T = TypeVar("T")


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


def _always(exc: BaseException) -> bool:
    return True


class CircuitBreaker:
    """Counts consecutive failures of the calls it guards and skips the backend while open.

    Each of ``listeners`` is called with True when the circuit opens and False when it closes
    again (metrics). ``clock`` is injectable so tests need no sleeps.
    """

    def __init__(
        self,
        name: str = "redis",
        *,
        threshold: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        trips: Callable[[BaseException], bool] = _always,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1 or base_delay <= 0 or max_delay < base_delay:
            raise ValueError("need threshold >= 1 and 0 < base_delay <= max_delay")
        self.name = name
        self.threshold = threshold
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._trips = trips
        self.listeners: list[Callable[[bool], None]] = []
        self._clock = clock
        self.state = BreakerState.CLOSED
        self.failures = 0  # consecutive tripping failures
        self.rejected = 0  # calls refused while open, over the breaker's lifetime
        self.delay = base_delay  # how long the next (or current) open period lasts
        self._retry_at = 0.0

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` unless the circuit is open; raise CircuitOpen without calling it."""
        probe = self._admit()
        try:
            result = await operation()
        except Exception as exc:
            if self._trips(exc):
                self._failure()
            else:
                self._success()  # the backend answered, if only with an error
            raise
        except BaseException:
            if probe and self.state is BreakerState.HALF_OPEN:
                # A cancelled probe proved nothing: let the next call probe at once.
                self.state = BreakerState.OPEN
                self._retry_at = self._clock()
            raise
        self._success()
        return result

    def _admit(self) -> bool:
        """Return whether this call is the half-open probe; raise CircuitOpen to refuse it."""
        if self.state is BreakerState.CLOSED:
            return False
        if self.state is BreakerState.OPEN and self._clock() >= self._retry_at:
            self.state = BreakerState.HALF_OPEN
            return True
        self.rejected += 1
        raise CircuitOpen(f"{self.name} skipped for {self.delay:g}s after repeated failures")

    def _success(self) -> None:
        self.failures = 0
        if self.state is not BreakerState.CLOSED:
            self.state = BreakerState.CLOSED
            self.delay = self.base_delay
            log.info("%s circuit closed: the backend answers again", self.name)
            for listener in self.listeners:
                listener(False)

    def _failure(self) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN:
            self.delay = min(self.delay * 2, self.max_delay)
            self._open()
        elif self.state is BreakerState.CLOSED and self.failures >= self.threshold:
            self.delay = self.base_delay
            self._open()
            for listener in self.listeners:
                listener(True)

    def _open(self) -> None:
        self.state = BreakerState.OPEN
        self._retry_at = self._clock() + self.delay
        log.warning(
            "%s circuit open after %d consecutive failures: skipping it for %gs",
            self.name,
            self.failures,
            self.delay,
        )
