"""The Redis blob descriptor cache, with CNCF Distribution's key schema so both can share a Redis.

Keys (``registry/storage/cache/redis/redis.go``)::

    blobs::<digest>                          hash  digest, size, mediatype   (global descriptor)
    repository::<name>::blobs                set   digests linked into <name> (membership)
    repository::<name>::blobs::<digest>      hash  mediatype                 (per-repository type)

A global entry without ``size`` (Distribution once called it ``length``) is a miss, and so is a
scoped entry without its override hash, as in Distribution 3. The global media type is the
first one written (HSETNX). Every operation is one pipelined round trip without MULTI: a scoped
hit costs SISMEMBER + HMGET + HGET in one write and one read. A scoped entry is written global
hash first and membership last, so a reader never sees membership without the descriptor.

Redis nil is BlobUnknown (a miss); transport failures, timeouts, error replies and malformed
replies raise :class:`CacheError`; while the circuit breaker is open calls raise
:class:`CircuitOpen` without touching Redis. A clear that fails is remembered (up to
``PENDING_CLEARS_MAX``) and replayed before the next call on that digest reaches Redis, so a
delete made during an outage cannot come back as a stale hit when Redis does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Final

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cargohold.errors import BlobUnknown, CargoholdError
from cargohold.manifest import DEFAULT_MEDIA_TYPE, Descriptor
from cargohold.metrics import Metrics
from cargohold.reference import Digest, validate_name
from cargohold.storage.base import BlobDescriptorService
from cargohold.storage.cache.base import CacheError, CircuitOpen, check_descriptor
from cargohold.storage.cache.breaker import CircuitBreaker
from cargohold.storage.cache.redispool import RedisSettings, create_client
from cargohold.storage.cache.stats import CacheStats

if TYPE_CHECKING:
    from cargohold.config.model import RedisConfig

__all__ = [
    "PENDING_CLEARS_MAX",
    "RedisBlobDescriptorCache",
    "blob_key",
    "is_transport_error",
    "repository_blob_key",
    "repository_set_key",
]

log = logging.getLogger("cargohold.storage.cache")

#: Failed clears remembered for replay; past this the oldest is forgotten (and logged).
PENDING_CLEARS_MAX: Final = 10_000

_FIELDS: Final = ("digest", "size", "mediatype")

Command = tuple[str | int, ...]


def blob_key(digest: Digest) -> str:
    return f"blobs::{digest}"


def repository_set_key(repository: str) -> str:
    return f"repository::{repository}::blobs"


def repository_blob_key(repository: str, digest: Digest) -> str:
    return f"repository::{repository}::blobs::{digest}"


def is_transport_error(exc: BaseException) -> bool:
    """Whether ``exc`` means Redis did not answer (trips the breaker), not that it answered badly."""
    return isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError)


class RedisBlobDescriptorCache:
    """Global and repository-scoped blob descriptors in Redis, behind a circuit breaker.

    ``deadline`` bounds every call (pool wait, dial, write and read together); ``client`` should
    carry its own read timeout (``create_client``) so a stalled Redis fails fast.
    """

    name = "redis"

    def __init__(
        self,
        client: Redis,
        *,
        deadline: float = 15.0,
        metrics: Metrics | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        metrics = metrics if metrics is not None else Metrics()
        self.client = client
        self.deadline = deadline
        self.stats = CacheStats(metrics.cache, self.name)
        self.breaker = breaker or CircuitBreaker("redis", trips=is_transport_error)
        self.breaker.listeners.append(self._circuit_changed)
        self._redis_metrics = metrics.redis
        self._redis_metrics.circuit_open.set(0)
        # (repository or "", digest) of clears that did not reach Redis, oldest first.
        self._pending: OrderedDict[tuple[str, Digest], None] = OrderedDict()

    @classmethod
    def from_config(
        cls,
        config: RedisConfig | RedisSettings,
        *,
        metrics: Metrics | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> RedisBlobDescriptorCache:
        """Build the provider and its bounded pool from the ``redis`` section; connects lazily."""
        settings = (
            config if isinstance(config, RedisSettings) else RedisSettings.from_config(config)
        )
        metrics = metrics if metrics is not None else Metrics()
        client = create_client(settings, metrics.redis)
        return cls(client, deadline=settings.deadline, metrics=metrics, breaker=breaker)

    @property
    def pending_clears(self) -> int:
        """Clears not yet delivered to Redis."""
        return len(self._pending)

    async def stat(self, digest: Digest) -> Descriptor:
        replies = await self._run("Stat", digest, "", [("HMGET", blob_key(digest), *_FIELDS)])
        return _descriptor(digest, replies[0], None)

    async def set_descriptor(self, digest: Digest, descriptor: Descriptor) -> None:
        descriptor = check_descriptor(digest, descriptor)
        await self._run("SetDescriptor", digest, "", _global_set(digest, descriptor))

    async def clear(self, digest: Digest) -> None:
        """Delete the global descriptor; BlobUnknown if there was none."""
        self._pending.pop(("", digest), None)
        replies = await self._clearing("Clear", "", digest, [("DEL", blob_key(digest))])
        if not replies[0]:
            raise BlobUnknown(f"blob {digest} not in cache")

    def repository_scoped(self, repository: str) -> BlobDescriptorService:
        """Raise NameInvalid for a name outside the OCI grammar."""
        return _ScopedRedis(self, validate_name(repository))

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _clearing(
        self, operation: str, repository: str, digest: Digest, commands: list[Command]
    ) -> list[Any]:
        """Run a clear; if it may not have reached Redis, remember it for replay and re-raise."""
        try:
            return await self._run(operation, digest, repository, commands)
        except CacheError as exc:
            if isinstance(exc, CircuitOpen) or is_transport_error(exc.__cause__ or exc):
                self._remember(repository, digest)
            raise

    def _remember(self, repository: str, digest: Digest) -> None:
        self._pending[(repository, digest)] = None
        self._pending.move_to_end((repository, digest))
        if len(self._pending) > PENDING_CLEARS_MAX:
            (lost_repo, lost), _ = self._pending.popitem(last=False)
            log.warning(
                "redis cache: over %d undelivered clears; %s in %r may be served stale",
                PENDING_CLEARS_MAX,
                lost,
                lost_repo or "(global)",
            )

    async def _run(
        self, operation: str, digest: Digest, repository: str, commands: list[Command]
    ) -> list[Any]:
        """Send pending clears of ``digest`` then ``commands`` in one round trip; their replies."""
        replay = [key for key in (("", digest), (repository, digest)) if key in self._pending]
        prelude = [cmd for key in dict.fromkeys(replay) for cmd in _clear_commands(*key)]

        async def round_trip() -> list[Any]:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.deadline), self.client.pipeline(False) as pipe:
                    for command in (*prelude, *commands):
                        pipe.execute_command(*command)
                    replies: list[Any] = await pipe.execute()
                    return replies
            finally:
                self._redis_metrics.latency.labels(operation).observe(time.perf_counter() - started)

        try:
            replies = await self.breaker.call(round_trip)
        except (RedisError, OSError) as exc:
            raise CacheError(
                f"redis {operation} of {digest} failed: {type(exc).__name__}: {exc}"
            ) from exc
        for key in replay:
            self._pending.pop(key, None)
        return replies[len(prelude) :]

    def _circuit_changed(self, is_open: bool) -> None:
        self._redis_metrics.circuit_open.set(1 if is_open else 0)
        if is_open:
            self._redis_metrics.circuit_trips.inc()


class _ScopedRedis:
    """One repository's view of a RedisBlobDescriptorCache."""

    def __init__(self, parent: RedisBlobDescriptorCache, repository: str) -> None:
        self._parent = parent
        self._repository = repository

    async def stat(self, digest: Digest) -> Descriptor:
        repo = self._repository
        commands: list[Command] = [
            ("SISMEMBER", repository_set_key(repo), str(digest)),
            ("HMGET", blob_key(digest), *_FIELDS),
            ("HGET", repository_blob_key(repo, digest), "mediatype"),
        ]
        member, fields, override = await self._parent._run("RepoStat", digest, repo, commands)
        if not member:
            raise BlobUnknown(f"blob {digest} not in cache for {repo}")
        if override is None:
            raise BlobUnknown(f"blob {digest} has no media type in cache for {repo}")
        return _descriptor(digest, fields, override)

    async def set_descriptor(self, digest: Digest, descriptor: Descriptor) -> None:
        repo = self._repository
        descriptor = check_descriptor(digest, descriptor)
        commands = [
            *_global_set(digest, descriptor),
            ("HSET", repository_blob_key(repo, digest), "mediatype", descriptor.media_type),
            ("SADD", repository_set_key(repo), str(digest)),
        ]
        await self._parent._run("RepoSetDescriptor", digest, repo, commands)

    async def clear(self, digest: Digest) -> None:
        """Remove membership and the media-type override; BlobUnknown if not a member."""
        repo = self._repository
        self._parent._pending.pop((repo, digest), None)
        replies = await self._parent._clearing(
            "RepoClear", repo, digest, _clear_commands(repo, digest)
        )
        if not replies[0]:
            raise BlobUnknown(f"blob {digest} not in cache for {repo}")


def _global_set(digest: Digest, descriptor: Descriptor) -> list[Command]:
    key = blob_key(digest)
    return [
        ("HSET", key, "digest", str(descriptor.digest), "size", descriptor.size),
        # Distribution keeps the first media type globally; repositories override it.
        ("HSETNX", key, "mediatype", descriptor.media_type),
    ]


def _clear_commands(repository: str, digest: Digest) -> list[Command]:
    if not repository:
        return [("DEL", blob_key(digest))]
    return [
        ("SREM", repository_set_key(repository), str(digest)),
        ("DEL", repository_blob_key(repository, digest)),
    ]


def _descriptor(digest: Digest, fields: Any, override: Any) -> Descriptor:
    """Decode an HMGET of digest, size, mediatype (and a repository's media type)."""
    if not isinstance(fields, list) or len(fields) != len(_FIELDS):
        raise CacheError(f"redis: unexpected reply {fields!r} for {blob_key(digest)}")
    raw_digest, raw_size, raw_type = fields
    if raw_digest is None or raw_size is None:
        raise BlobUnknown(f"blob {digest} not in cache")
    try:
        stored = Digest.parse(raw_digest.decode())
        size = int(raw_size)
        media_type = (override or raw_type or b"").decode() or DEFAULT_MEDIA_TYPE
    except (AttributeError, ValueError, CargoholdError) as exc:
        raise CacheError(f"redis: malformed descriptor at {blob_key(digest)}: {exc}") from exc
    if stored != digest or size < 0:
        raise CacheError(f"redis: {blob_key(digest)} holds digest {stored}, size {size}")
    return Descriptor(digest, size, media_type)
