"""The Redis client of the ``redis`` config section: a bounded pool with timeouts, no retries.

``redis.pool`` has CNCF Distribution's meaning (go-redis options): ``maxactive`` bounds open
connections (0: ten per CPU, go-redis's default), ``maxidle`` bounds idle ones kept open (0: no
bound) and ``idletimeout`` closes connections idle longer (0: never). A task needing a connection
while ``maxactive`` are busy waits at most the operation deadline. redis-py's own retries are
off: a cache call that fails is answered from storage, and retrying would only add latency.
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, BlockingConnectionPool, SSLConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from cargohold.metrics import RedisMetrics

if TYPE_CHECKING:
    from cargohold.config.model import RedisConfig

__all__ = ["BoundedConnectionPool", "RedisSettings", "create_client"]


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """The ``redis`` config section, resolved to what redis-py needs (durations in seconds)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    db: int = 0
    dial_timeout: float = 5.0
    read_timeout: float = 5.0
    write_timeout: float = 5.0
    max_active: int = 64
    max_idle: int = 16
    idle_timeout: float = 300.0
    tls: bool = False
    certificate: str = ""
    key: str = ""
    ca_files: tuple[str, ...] = ()

    @property
    def deadline(self) -> float:
        """Bound of one cache call: waiting for or dialling a connection, writing, reading."""
        return self.dial_timeout + self.write_timeout + self.read_timeout

    @classmethod
    def from_config(cls, config: RedisConfig) -> RedisSettings:
        """Resolve the validated ``redis`` section (its ``addr`` always names a host)."""
        host, _, port = config.addr.rpartition(":")
        return cls(
            host=host.removeprefix("[").removesuffix("]"),
            port=int(port),
            username=config.username or None,
            password=config.password.get_secret_value() if config.password else None,
            db=config.db,
            dial_timeout=config.dialtimeout.total_seconds(),
            read_timeout=config.readtimeout.total_seconds(),
            write_timeout=config.writetimeout.total_seconds(),
            max_active=config.pool.maxactive,
            max_idle=config.pool.maxidle,
            idle_timeout=config.pool.idletimeout.total_seconds(),
            tls=config.tls.enabled,
            certificate=config.tls.certificate,
            key=config.tls.key,
            ca_files=tuple(config.tls.clientcas),
        )


class BoundedConnectionPool(BlockingConnectionPool):
    """A blocking pool that also closes surplus and long-idle connections and reports its size.

    Idle connections are trimmed when one is released or acquired, so the pool needs no task of
    its own; the gauges in ``metrics`` are updated at the same moments.
    """

    def __init__(
        self,
        *,
        max_idle: int,
        idle_timeout: float,
        metrics: RedisMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout
        self._metrics = metrics
        self._clock = clock
        self._released_at: weakref.WeakKeyDictionary[AbstractConnection, float] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def in_use(self) -> int:
        return len(self._in_use_connections)

    @property
    def idle(self) -> int:
        """Open connections waiting in the pool."""
        return sum(1 for c in self._available_connections if c.is_connected)

    async def get_connection(
        self, command_name: Any = None, *keys: Any, **options: Any
    ) -> AbstractConnection:
        await self._trim()
        connection: AbstractConnection = await super().get_connection()  # type: ignore[no-untyped-call]
        self._report()
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        self._released_at[connection] = self._clock()
        await super().release(connection)
        await self._trim()
        self._report()

    async def _trim(self) -> None:
        # _available_connections is a stack: the front holds the least recently used.
        now = self._clock()
        idle = [c for c in self._available_connections if c.is_connected]
        surplus = len(idle) - self.max_idle if self.max_idle else 0
        drop = idle[: max(surplus, 0)]
        if self.idle_timeout:
            drop += [
                c
                for c in idle[len(drop) :]
                if now - self._released_at.get(c, now) > self.idle_timeout
            ]
        if not drop:
            return
        for connection in drop:
            self._available_connections.remove(connection)
        await asyncio.gather(*(c.disconnect() for c in drop), return_exceptions=True)

    def _report(self) -> None:
        if self._metrics is not None:
            self._metrics.pool_connections.labels("in_use").set(self.in_use)
            self._metrics.pool_connections.labels("idle").set(self.idle)


def create_client(settings: RedisSettings, metrics: RedisMetrics | None = None) -> Redis:
    """A client over a new :class:`BoundedConnectionPool`; no connection is opened yet.

    Reads the CA files of ``settings.ca_files`` (start-up only, before serving).
    """
    kwargs: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "db": settings.db,
        "username": settings.username,
        "password": settings.password,
        "socket_connect_timeout": settings.dial_timeout,
        # redis-py has one socket timeout; writes are bounded by the call deadline instead.
        "socket_timeout": settings.read_timeout,
        "socket_keepalive": True,
        "retry": Retry(NoBackoff(), 0),
        # RESP2: no HELLO handshake, so old servers and Redis proxies work as with Distribution.
        "protocol": 2,
    }
    if settings.tls:
        ca_data = "".join(Path(f).read_text() for f in settings.ca_files) or None
        kwargs.update(
            connection_class=SSLConnection,
            ssl_certfile=settings.certificate or None,
            ssl_keyfile=settings.key or None,
            ssl_ca_data=ca_data,
        )
    pool = BoundedConnectionPool(
        max_idle=settings.max_idle,
        idle_timeout=settings.idle_timeout,
        metrics=metrics,
        max_connections=settings.max_active or 10 * (os.cpu_count() or 1),
        timeout=settings.deadline,
        **kwargs,
    )
    # from_pool: closing the client closes the pool too.
    return Redis.from_pool(pool)
