"""Small calls made in one event-loop iteration share one executor hop, each with its own outcome."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from cargohold.storage.driver._batching import HopBatcher


class CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(4)
        self.hops = 0

    def submit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.hops += 1
        return super().submit(*args, **kwargs)


def fail(message: str) -> None:
    raise LookupError(message)


async def test_calls_of_one_iteration_share_a_hop_and_keep_their_outcomes() -> None:
    with CountingExecutor() as pool:
        batcher = HopBatcher(pool)
        futures = [batcher.run(pow, 2, n) for n in range(10)]
        failing = batcher.run(fail, "nope")
        assert await asyncio.gather(*futures) == [2**n for n in range(10)]
        with pytest.raises(LookupError, match="nope"):
            await failing
        assert pool.hops == 1
        assert await batcher.run(pow, 3, 2) == 9  # a later iteration: a new hop
        assert pool.hops == 2


async def test_calls_run_off_the_loop_in_order() -> None:
    seen: list[tuple[int, str]] = []

    def record(n: int) -> None:
        seen.append((n, threading.current_thread().name))

    with ThreadPoolExecutor(4, thread_name_prefix="hop") as pool:
        batcher = HopBatcher(pool)
        await asyncio.gather(*(batcher.run(record, n) for n in range(5)))
    assert [n for n, _ in seen] == list(range(5))
    assert all(name.startswith("hop") for _, name in seen)


async def test_a_full_batch_goes_at_once() -> None:
    with CountingExecutor() as pool:
        batcher = HopBatcher(pool, max_batch=4)
        assert await asyncio.gather(*(batcher.run(abs, -n) for n in range(10))) == list(range(10))
        assert pool.hops == 3


async def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    with CountingExecutor() as pool:
        batcher = HopBatcher(pool)
        gate = threading.Event()
        first = batcher.run(gate.wait, 5)
        second = batcher.run(pow, 2, 5)
        first.cancel()
        gate.set()
        assert await second == 32
        assert first.cancelled()


async def test_a_shut_down_pool_fails_every_call() -> None:
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    batcher = HopBatcher(pool)
    with pytest.raises(RuntimeError):
        await batcher.run(pow, 2, 2)


def test_loops_in_two_threads_keep_their_own_batches() -> None:
    with ThreadPoolExecutor(4) as pool:
        batcher = HopBatcher(pool)
        results: dict[int, list[int]] = {}

        def loop_thread(base: int) -> None:
            async def main() -> list[int]:
                out: list[int] = []
                for _ in range(50):
                    out += await asyncio.gather(*(batcher.run(abs, -(base + n)) for n in range(8)))
                return out

            results[base] = asyncio.run(main())

        threads = [threading.Thread(target=loop_thread, args=(base,)) for base in (0, 1000)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert results == {base: list(range(base, base + 8)) * 50 for base in (0, 1000)}
