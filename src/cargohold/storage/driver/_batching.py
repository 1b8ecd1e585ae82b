"""Small blocking calls submitted in one event-loop iteration run together in one executor hop.

Under load most of a small request's cost is the hop itself (queueing to a thread, waking it,
handing the result back), not the ``stat`` or 60-byte read it carries. Calls made while the loop
runs one batch of ready callbacks are collected and handed to a single thread, which runs them in
order and returns all results in one wake-up of the loop. Each call still starts after it was
made, so nothing is served from before its request; only independent calls share a hop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import Executor
from concurrent.futures import Future as ThreadFuture
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]"]
_Outcome = tuple[bool, Any]

#: Calls per hop at most: one slow call (a cold disk) delays only the calls batched with it.
MAX_BATCH = 32


def _run_all(calls: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> list[_Outcome]:
    outcomes: list[_Outcome] = []
    for fn, args in calls:
        try:
            outcomes.append((True, fn(*args)))
        except Exception as exc:  # each call's error belongs to its own caller
            outcomes.append((False, exc))
    return outcomes


def _deliver(batch: list[_Call], done: ThreadFuture[list[_Outcome]]) -> None:
    try:
        outcomes = done.result()
    except BaseException as exc:  # the batch itself failed: every caller learns why
        outcomes = [(False, exc)] * len(batch)
    for (_, _, future), (ok, value) in zip(batch, outcomes, strict=True):
        if future.done():  # the caller was cancelled; the call ran anyway, as in run_in_executor
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class HopBatcher:
    """Submits calls to ``executor`` in batches, one batch per iteration of each event loop.

    Each loop has its own pending batch, so a driver shared by loops in several threads never
    hands one loop's futures to another.
    """

    def __init__(self, executor: Executor, max_batch: int = MAX_BATCH) -> None:
        self._executor = executor
        self._max_batch = max_batch
        self._pending: dict[asyncio.AbstractEventLoop, list[_Call]] = {}

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Schedule ``fn(*args)`` in the next batch; await the returned future for its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._flush, loop)
        pending.append((fn, args, future))
        if len(pending) >= self._max_batch:
            self._flush(loop)
        return future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._pending.pop(loop, None)
        if not batch:
            return
        try:
            done = self._executor.submit(_run_all, [(fn, args) for fn, args, _ in batch])
        except RuntimeError as exc:  # the pool is shut down
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return

        def wake(finished: ThreadFuture[list[_Outcome]]) -> None:
            # A closed loop raises RuntimeError: nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_deliver, batch, finished)

        done.add_done_callback(wake)
