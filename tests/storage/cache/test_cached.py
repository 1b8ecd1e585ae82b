"""CachedBlobStatter: a miss fills the cache, an error never does, storage stays the truth."""

from __future__ import annotations

import logging

import pytest

from cargohold.errors import BlobUnknown, StorageError
from cargohold.manifest import Descriptor
from cargohold.reference import Digest
from cargohold.storage.cache.base import CacheError, CircuitOpen
from cargohold.storage.cache.cached import CachedBlobStatter
from cargohold.storage.cache.stats import ERROR_REMINDER_INTERVAL, CacheStats
from cargohold.testing.cache_suite import descriptor

BLOB = descriptor("blob")


class FakeService:
    """A descriptor service that records calls and can be told to fail."""

    def __init__(self, known: dict[Digest, Descriptor] | None = None) -> None:
        self.known = dict(known or {})
        self.fail: Exception | None = None
        self.calls: list[str] = []

    async def stat(self, digest: Digest) -> Descriptor:
        self.calls.append("stat")
        if self.fail is not None:
            raise self.fail
        try:
            return self.known[digest]
        except KeyError:
            raise BlobUnknown(str(digest)) from None

    async def set_descriptor(self, digest: Digest, descriptor: Descriptor) -> None:
        self.calls.append("set_descriptor")
        if self.fail is not None:
            raise self.fail
        self.known[digest] = descriptor

    async def clear(self, digest: Digest) -> None:
        self.calls.append("clear")
        if self.fail is not None:
            raise self.fail
        if self.known.pop(digest, None) is None:
            raise BlobUnknown(str(digest))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stats(clock: Clock) -> CacheStats:
    return CacheStats(cache="fake", clock=clock)


def statter(cache: FakeService, backend: FakeService, stats: CacheStats) -> CachedBlobStatter:
    return CachedBlobStatter(cache, backend, stats)


def counts(stats: CacheStats) -> tuple[int, int, int, int]:
    return stats.requests, stats.hits, stats.misses, stats.errors


async def test_hit_does_not_touch_storage(stats: CacheStats) -> None:
    cache, backend = FakeService({BLOB.digest: BLOB}), FakeService()
    assert await statter(cache, backend, stats).stat(BLOB.digest) == BLOB
    assert backend.calls == []
    assert counts(stats) == (1, 1, 0, 0)


async def test_miss_asks_storage_and_fills_the_cache(stats: CacheStats) -> None:
    cache, backend = FakeService(), FakeService({BLOB.digest: BLOB})
    assert await statter(cache, backend, stats).stat(BLOB.digest) == BLOB
    assert cache.known == {BLOB.digest: BLOB}
    assert counts(stats) == (1, 0, 1, 0)


async def test_miss_of_an_unknown_blob_fills_nothing(stats: CacheStats) -> None:
    cache, backend = FakeService(), FakeService()
    with pytest.raises(BlobUnknown):
        await statter(cache, backend, stats).stat(BLOB.digest)
    assert cache.calls == ["stat"]
    assert counts(stats) == (1, 0, 1, 0)


@pytest.mark.parametrize(
    "failure",
    [CacheError("connection refused"), CircuitOpen("skipped"), ValueError("bad reply")],
    ids=["cache-error", "circuit-open", "unexpected"],
)
async def test_cache_error_is_answered_from_storage_without_writing(
    stats: CacheStats, failure: Exception
) -> None:
    cache, backend = FakeService(), FakeService({BLOB.digest: BLOB})
    cache.fail = failure
    assert await statter(cache, backend, stats).stat(BLOB.digest) == BLOB
    assert cache.calls == ["stat"]  # no set_descriptor: errors never refill
    assert counts(stats) == (1, 0, 0, 1)  # an error, not a miss
    assert stats.metrics.total("errors", cache="fake", operation="stat") == 1
    assert stats.last_error is failure


async def test_storage_errors_propagate_after_a_cache_error(stats: CacheStats) -> None:
    cache, backend = FakeService(), FakeService()
    cache.fail, backend.fail = CacheError("down"), StorageError("disk")
    with pytest.raises(StorageError):
        await statter(cache, backend, stats).stat(BLOB.digest)


async def test_failed_fill_is_counted_and_the_answer_stands(stats: CacheStats) -> None:
    class FailingWrites(FakeService):
        async def set_descriptor(self, digest: Digest, descriptor: Descriptor) -> None:
            raise CacheError("read only replica")

    cache, backend = FailingWrites(), FakeService({BLOB.digest: BLOB})
    assert await statter(cache, backend, stats).stat(BLOB.digest) == BLOB
    assert counts(stats) == (1, 0, 1, 1)
    assert stats.metrics.total("errors", cache="fake", operation="set_descriptor") == 1


async def test_set_descriptor_records_in_storage_then_cache(stats: CacheStats) -> None:
    cache, backend = FakeService(), FakeService()
    await statter(cache, backend, stats).set_descriptor(BLOB.digest, BLOB)
    assert backend.known == cache.known == {BLOB.digest: BLOB}
    cache.fail = CacheError("down")
    other = descriptor("other")
    await statter(cache, backend, stats).set_descriptor(other.digest, other)
    assert other.digest in backend.known
    assert stats.errors == 1


async def test_set_descriptor_storage_failure_leaves_the_cache_alone(stats: CacheStats) -> None:
    cache, backend = FakeService(), FakeService()
    backend.fail = StorageError("disk")
    with pytest.raises(StorageError):
        await statter(cache, backend, stats).set_descriptor(BLOB.digest, BLOB)
    assert cache.calls == []


async def test_clear_forgets_in_cache_then_storage(stats: CacheStats) -> None:
    cache, backend = FakeService({BLOB.digest: BLOB}), FakeService({BLOB.digest: BLOB})
    await statter(cache, backend, stats).clear(BLOB.digest)
    assert cache.known == backend.known == {}
    # Unknown to the cache but known to storage: still cleared.
    backend.known[BLOB.digest] = BLOB
    await statter(cache, backend, stats).clear(BLOB.digest)
    assert backend.known == {}
    # Unknown to storage: storage's BlobUnknown is the answer.
    with pytest.raises(BlobUnknown):
        await statter(cache, backend, stats).clear(BLOB.digest)
    assert stats.errors == 0


async def test_clear_goes_on_to_storage_when_the_cache_fails(stats: CacheStats) -> None:
    cache, backend = FakeService({BLOB.digest: BLOB}), FakeService({BLOB.digest: BLOB})
    cache.fail = CacheError("down")
    await statter(cache, backend, stats).clear(BLOB.digest)
    assert backend.known == {}
    assert stats.metrics.total("errors", cache="fake", operation="clear") == 1


async def test_errors_are_logged_once_per_burst(
    stats: CacheStats, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cargohold.storage.cache")
    cache, backend = FakeService({BLOB.digest: BLOB}), FakeService({BLOB.digest: BLOB})
    cached = statter(cache, backend, stats)
    cache.fail = CacheError("down")
    for _ in range(50):
        await cached.stat(BLOB.digest)
    assert [r.getMessage() for r in caplog.records] == [
        "blob descriptor cache fake: stat failed, serving from storage: down"
    ]
    caplog.clear()
    clock.now += ERROR_REMINDER_INTERVAL  # a long outage gets a reminder with the count
    await cached.stat(BLOB.digest)
    assert [r.getMessage() for r in caplog.records] == [
        "blob descriptor cache fake still failing: 50 more errors, latest stat: down"
    ]
    caplog.clear()
    cache.fail = None  # recovery is logged, and the next failure starts a new burst
    await cached.stat(BLOB.digest)
    cache.fail = CacheError("down again")
    await cached.stat(BLOB.digest)
    assert [r.getMessage() for r in caplog.records] == [
        "blob descriptor cache fake answering again after 51 errors",
        "blob descriptor cache fake: stat failed, serving from storage: down again",
    ]
    assert counts(stats) == (53, 1, 0, 52)
