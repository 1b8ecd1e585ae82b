"""The registry over a Redis cache whose server dies, hangs or sleeps: storage answers every time."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from cargohold.errors import BlobUnknown, ManifestBlobUnknown
from cargohold.manifest import Descriptor
from cargohold.metrics import Metrics
from cargohold.reference import Digest
from cargohold.storage import paths
from cargohold.storage.base import BlobDescriptorService
from cargohold.storage.cache.base import CacheError
from cargohold.storage.cache.breaker import BreakerState, CircuitBreaker
from cargohold.storage.cache.redis import (
    RedisBlobDescriptorCache,
    is_transport_error,
    repository_set_key,
)
from cargohold.storage.cache.redispool import RedisSettings, create_client
from cargohold.storage.cache.stats import CacheStats
from cargohold.storage.driver.inmemory import InMemoryDriver
from cargohold.storage.registry import StorageRegistry, create_registry
from cargohold.testing.redis_server import RedisServer
from tests.storage.conftest import OCI_MANIFEST, image_manifest, push_blob

REPO = "fault/test"


def state(breaker: CircuitBreaker) -> BreakerState:
    """The breaker's state, read afresh (mypy would keep an earlier narrowing)."""
    return breaker.state


class SpyCache:
    """A provider wrapper counting the cache writes (set_descriptor) its scoped views receive."""

    def __init__(self, inner: RedisBlobDescriptorCache) -> None:
        self.inner = inner
        self.name = inner.name
        self.stats: CacheStats = inner.stats
        self.writes = 0

    def repository_scoped(self, repository: str) -> BlobDescriptorService:
        return _SpyScoped(self, self.inner.repository_scoped(repository))

    async def stat(self, digest: Digest) -> Descriptor:
        return await self.inner.stat(digest)

    async def set_descriptor(self, digest: Digest, descriptor: Descriptor) -> None:
        self.writes += 1
        await self.inner.set_descriptor(digest, descriptor)

    async def clear(self, digest: Digest) -> None:
        await self.inner.clear(digest)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _SpyScoped:
    def __init__(self, spy: SpyCache, inner: BlobDescriptorService) -> None:
        self.spy = spy
        self.inner = inner

    async def stat(self, digest: Digest) -> Descriptor:
        return await self.inner.stat(digest)

    async def set_descriptor(self, digest: Digest, descriptor: Descriptor) -> None:
        self.spy.writes += 1
        await self.inner.set_descriptor(digest, descriptor)

    async def clear(self, digest: Digest) -> None:
        await self.inner.clear(digest)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A server of this test's own, free to be killed, paused and restarted."""
    async with RedisServer(tmp_path / "redis") as s:
        yield s


@pytest.fixture
async def cache(server: RedisServer) -> AsyncIterator[SpyCache]:
    # Short timeouts and breaker delays keep each fault to a fraction of a second.
    settings = RedisSettings(
        host="127.0.0.1", port=server.port, dial_timeout=0.5, read_timeout=0.1, write_timeout=0.5
    )
    breaker = CircuitBreaker(
        "redis", threshold=3, base_delay=0.05, max_delay=0.2, trips=is_transport_error
    )
    provider = RedisBlobDescriptorCache.from_config(settings, metrics=Metrics(), breaker=breaker)
    yield SpyCache(provider)
    await provider.aclose()


@pytest.fixture
def registry(cache: SpyCache) -> StorageRegistry:
    return create_registry(InMemoryDriver(), delete_enabled=True, cache=cache)


@pytest.fixture
async def side(server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis(host="127.0.0.1", port=server.port, socket_timeout=5)
    yield client
    await client.aclose()


async def push_blobs(registry: StorageRegistry, count: int) -> dict[Digest, int]:
    sizes = {}
    for i in range(count):
        data = f"blob {i} ".encode() * (i + 1)
        sizes[await push_blob(registry, REPO, data)] = len(data)
    return sizes


async def stats_of(registry: StorageRegistry) -> CacheStats:
    stats = registry.cache_stats
    # Every request is exactly one of hit, miss or (stat) error.
    stat_errors = stats.metrics.total("errors", cache=stats.cache, operation="stat")
    assert stats.requests == stats.hits + stats.misses + stat_errors
    return stats


async def test_killed_redis_is_bypassed_then_used_again(
    server: RedisServer, cache: SpyCache, registry: StorageRegistry, side: Redis
) -> None:
    sizes = await push_blobs(registry, 12)
    blobs = registry.repository(REPO).blobs
    for digest in sizes:  # fill, then hit
        await blobs.stat(digest)
        await blobs.stat(digest)
    stats = await stats_of(registry)
    assert stats.hits == 2 * len(sizes)  # uploads filled the cache already

    failures: list[BaseException] = []
    answered = 0
    warmed, done = asyncio.Event(), asyncio.Event()

    async def client(seed: int) -> None:
        nonlocal answered
        rng = random.Random(seed)
        while not done.is_set():
            digest = rng.choice(list(sizes))
            try:
                assert (await blobs.stat(digest)).size == sizes[digest]
            except BaseException as exc:
                failures.append(exc)
                done.set()
                raise
            answered += 1
            if answered == 200:
                warmed.set()
            if answered == 2000:
                done.set()
            await asyncio.sleep(0)

    clients = [asyncio.create_task(client(i)) for i in range(16)]
    await warmed.wait()
    writes_before = cache.writes
    server.kill()  # mid-load
    await done.wait()
    await asyncio.gather(*clients, return_exceptions=True)
    assert failures == []
    assert cache.writes == writes_before  # no cache write while Redis was down
    breaker = cache.inner.breaker
    assert breaker.rejected > 0  # the circuit opened: most requests never tried Redis
    assert stats.metrics.total("errors", cache=stats.cache, operation="stat") > 0
    redis_metrics = cache.inner.stats.metrics.registry
    assert redis_metrics.get_sample_value("registry_redis_circuit_trips_total") == 1
    assert redis_metrics.get_sample_value("registry_redis_circuit_open") == 1

    await asyncio.to_thread(server.restart)  # same port, empty data
    hits = stats.hits
    for _ in range(200):  # the breaker's next probe finds Redis back, without a restart of ours
        for digest, size in sizes.items():
            assert (await blobs.stat(digest)).size == size
        if stats.hits > hits:
            break
        await asyncio.sleep(0.02)
    assert stats.hits > hits
    assert state(breaker) is BreakerState.CLOSED
    assert redis_metrics.get_sample_value("registry_redis_circuit_open") == 0
    assert await side.scard(repository_set_key(REPO)) == len(sizes)  # refilled after the misses
    await stats_of(registry)


def wait_until_sleeping(port: int) -> None:
    """Return once the server stops answering PING promptly (it is inside DEBUG SLEEP)."""
    for _ in range(500):
        with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
            probe.settimeout(0.05)
            probe.sendall(b"PING\r\n")
            try:
                probe.recv(64)
            except TimeoutError:
                return
    raise AssertionError("DEBUG SLEEP never took effect")


async def test_slow_redis_hits_the_read_timeout_instead_of_stalling(
    server: RedisServer, cache: SpyCache, registry: StorageRegistry, side: Redis
) -> None:
    sizes = await push_blobs(registry, 2)
    first, second = sizes
    blobs = registry.repository(REPO).blobs
    await blobs.stat(first)
    stats = await stats_of(registry)
    sleeper = asyncio.create_task(side.execute_command("DEBUG", "SLEEP", "1"))  # type: ignore[no-untyped-call]
    await asyncio.to_thread(wait_until_sleeping, server.port)

    assert (await blobs.stat(first)).size == sizes[first]
    # Answered while Redis is still asleep: the read timeout, not Redis, ended the wait.
    assert not sleeper.done()
    assert isinstance(stats.last_error, CacheError)
    assert isinstance(stats.last_error.__cause__, RedisTimeoutError)
    assert "reading" in str(stats.last_error.__cause__)
    assert stats.metrics.total("errors", cache=stats.cache, operation="stat") == 1

    await sleeper
    hits = stats.hits
    # The timed-out connection was dropped: no late reply is mistaken for another call's.
    assert (await blobs.stat(second)).size == sizes[second]
    assert (await blobs.stat(first)).size == sizes[first]
    assert (await blobs.stat(second)).size == sizes[second]
    assert stats.hits == hits + 3
    await stats_of(registry)


async def test_the_call_deadline_bounds_a_call_the_socket_timeout_would_not(
    server: RedisServer, side: Redis
) -> None:
    client = create_client(RedisSettings("127.0.0.1", server.port, read_timeout=30))
    provider = RedisBlobDescriptorCache(client, deadline=0.05)
    d = Descriptor(Digest.from_bytes(b"x"), 1, "application/octet-stream")
    await provider.set_descriptor(d.digest, d)
    sleeper = asyncio.create_task(side.execute_command("DEBUG", "SLEEP", "0.5"))  # type: ignore[no-untyped-call]
    await asyncio.to_thread(wait_until_sleeping, server.port)
    with pytest.raises(CacheError) as caught:
        await provider.stat(d.digest)
    assert not sleeper.done()
    assert type(caught.value.__cause__) is TimeoutError
    await sleeper
    assert await provider.stat(d.digest) == d  # the abandoned connection was not reused
    await provider.aclose()


async def test_delete_while_the_circuit_is_open_is_replayed_before_any_hit(
    server: RedisServer, cache: SpyCache, registry: StorageRegistry, side: Redis
) -> None:
    digest = await push_blob(registry, REPO, b"deleted while redis is skipped")
    blobs = registry.repository(REPO).blobs
    breaker = cache.inner.breaker
    server.pause()  # connections hang: every call times out
    try:
        for _ in range(breaker.threshold):
            assert (await blobs.stat(digest)).digest == digest  # from storage
        assert state(breaker) is BreakerState.OPEN
        await blobs.delete(digest)  # the cache clear is skipped, the link removed
    finally:
        server.resume()
    assert cache.inner.pending_clears == 1
    # Precondition: Redis still holds the membership, so a hit now would be stale.
    assert await side.sismember(repository_set_key(REPO), str(digest))
    for _ in range(200):
        with pytest.raises(BlobUnknown):
            await blobs.stat(digest)
        if state(breaker) is BreakerState.CLOSED:
            break
        await asyncio.sleep(0.02)
    assert state(breaker) is BreakerState.CLOSED
    assert cache.inner.pending_clears == 0
    assert not await side.sismember(repository_set_key(REPO), str(digest))


async def test_repush_after_delete_is_really_stored_and_served(
    cache: SpyCache, registry: StorageRegistry, side: Redis
) -> None:
    data = b"pushed, deleted, pushed again"
    digest = await push_blob(registry, REPO, data)
    blobs = registry.repository(REPO).blobs
    await blobs.stat(digest)
    await blobs.delete(digest)
    with pytest.raises(BlobUnknown):
        await blobs.stat(digest)
    assert await push_blob(registry, REPO, data) == digest
    async with await blobs.open(digest) as reader:
        assert await reader.read() == data
    assert (await blobs.stat(digest)).size == len(data)
    assert await side.sismember(repository_set_key(REPO), str(digest))


async def test_stale_cache_after_gc_cannot_fake_stored_data(
    cache: SpyCache, registry: StorageRegistry, side: Redis
) -> None:
    """Garbage collection removes link and data behind the cache's back; nothing may trust it."""
    config, layer = b"{}", b"collected layer"
    await push_blob(registry, REPO, config)
    digest = await push_blob(registry, REPO, layer)
    blobs = registry.repository(REPO).blobs
    await blobs.stat(digest)
    driver = registry.driver
    await driver.delete(paths.layer_link(REPO, digest).rsplit("/", 1)[0])
    await driver.delete(paths.blob_dir(digest))
    # Precondition: the cache still vouches for the blob.
    assert (await blobs.stat(digest)).size == len(layer)
    with pytest.raises(ManifestBlobUnknown):
        await registry.repository(REPO).manifests.put(
            image_manifest(config, [layer]), OCI_MANIFEST, None, []
        )
    with pytest.raises(BlobUnknown):
        await registry.repository("elsewhere").blobs.mount(digest, REPO)
    # Pushing it again really stores it, whatever the cache believed.
    assert await push_blob(registry, REPO, layer) == digest
    async with await blobs.open(digest) as reader:
        assert await reader.read() == layer
