"""The circuit breaker's states, driven by a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from cargohold.storage.cache.base import CircuitOpen
from cargohold.storage.cache.breaker import BreakerState, CircuitBreaker


def state(breaker: CircuitBreaker) -> BreakerState:
    """The breaker's state, read afresh (mypy would keep an earlier narrowing)."""
    return breaker.state


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Backend:
    """An operation that fails with ``error`` when set, counting its calls."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return "ok"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(
        "test",
        threshold=3,
        base_delay=1.0,
        max_delay=4.0,
        trips=lambda exc: isinstance(exc, ConnectionError),
        clock=clock,
    )


async def fail(breaker: CircuitBreaker, backend: Backend, times: int) -> None:
    for _ in range(times):
        with pytest.raises(ConnectionError):
            await breaker.call(backend)


async def test_opens_after_threshold_consecutive_failures(breaker: CircuitBreaker) -> None:
    backend = Backend()
    backend.error = ConnectionError("refused")
    await fail(breaker, backend, 2)
    assert state(breaker) is BreakerState.CLOSED
    await fail(breaker, backend, 1)
    assert state(breaker) is BreakerState.OPEN
    with pytest.raises(CircuitOpen):
        await breaker.call(backend)
    assert backend.calls == 3  # the rejected call never reached the backend
    assert breaker.rejected == 1


async def test_a_success_resets_the_count(breaker: CircuitBreaker) -> None:
    backend = Backend()
    backend.error = ConnectionError()
    await fail(breaker, backend, 2)
    backend.error = None
    assert await breaker.call(backend) == "ok"
    backend.error = ConnectionError()
    await fail(breaker, backend, 2)
    assert state(breaker) is BreakerState.CLOSED


async def test_answers_with_errors_do_not_count(breaker: CircuitBreaker) -> None:
    backend = Backend()
    backend.error = ConnectionError()
    await fail(breaker, backend, 2)
    backend.error = KeyError("WRONGTYPE")  # the backend answered
    for _ in range(5):
        with pytest.raises(KeyError):
            await breaker.call(backend)
    assert (state(breaker), breaker.failures) == (BreakerState.CLOSED, 0)


async def test_one_probe_after_the_delay_closes_it_on_success(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    changes: list[bool] = []
    breaker.listeners.append(changes.append)
    backend = Backend()
    backend.error = ConnectionError()
    await fail(breaker, backend, 3)
    clock.now += 0.999
    with pytest.raises(CircuitOpen):
        await breaker.call(backend)
    clock.now += 0.001
    backend.error = None
    gate = asyncio.Event()

    async def slow_probe() -> str:
        await gate.wait()
        return await backend()

    probe = asyncio.create_task(breaker.call(slow_probe))
    await asyncio.sleep(0)
    assert state(breaker) is BreakerState.HALF_OPEN
    with pytest.raises(CircuitOpen):  # only one probe at a time
        await breaker.call(backend)
    gate.set()
    assert await probe == "ok"
    assert state(breaker) is BreakerState.CLOSED
    assert await breaker.call(backend) == "ok"
    assert changes == [True, False]


async def test_failed_probes_double_the_delay_up_to_the_cap(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    backend = Backend()
    backend.error = ConnectionError()
    await fail(breaker, backend, 3)
    delays = []
    for _ in range(4):
        delays.append(breaker.delay)
        clock.now += breaker.delay
        await fail(breaker, backend, 1)  # the probe
        assert state(breaker) is BreakerState.OPEN
    assert delays == [1.0, 2.0, 4.0, 4.0]
    backend.error = None
    clock.now += breaker.delay
    assert await breaker.call(backend) == "ok"
    assert breaker.delay == 1.0  # a closed circuit starts over


async def test_a_cancelled_probe_lets_the_next_call_probe(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    backend = Backend()
    backend.error = ConnectionError()
    await fail(breaker, backend, 3)
    clock.now += breaker.delay

    async def hang() -> str:
        await asyncio.Event().wait()
        return "never"

    probe = asyncio.create_task(breaker.call(hang))
    await asyncio.sleep(0)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    backend.error = None
    assert await breaker.call(backend) == "ok"
    assert state(breaker) is BreakerState.CLOSED


@pytest.mark.parametrize(
    "kwargs", [{"threshold": 0}, {"base_delay": 0}, {"base_delay": 2.0, "max_delay": 1.0}]
)
def test_rejects_nonsense_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="threshold"):
        CircuitBreaker("x", **kwargs)  # type: ignore[arg-type]
