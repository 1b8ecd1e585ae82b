"""A driver wrapper timing every call into ``registry_storage_action_seconds{driver,action}``.

Action names are CNCF Distribution's (``registry/storage/driver/base``), so its dashboards keep
working: ``GetContent``, ``PutContent``, ``Reader``, ``Writer``, ``Stat``, ``List``, ``Move``,
``Delete``, ``URLFor``. ``Reader`` and ``Writer`` time opening the stream, as Distribution does;
the bytes that flow afterwards are the HTTP layer's to measure. Failed calls are timed too. With
tracing on, each call is also a span ``storage.<Action>`` carrying the driver and path.
"""

from __future__ import annotations

import builtins
import contextlib
import time
from collections.abc import AsyncIterator, Hashable, Iterator, Sequence
from typing import TYPE_CHECKING

from cargohold.metrics import StorageMetrics
from cargohold.storage.driver.base import FileInfo, FileReader, FileWriter, StorageDriver

if TYPE_CHECKING:
    from cargohold.tracing import Tracing

__all__ = ["InstrumentedDriver"]


class InstrumentedDriver(StorageDriver):
    """Delegates every call to ``inner``, observing its duration (and a span when tracing)."""

    def __init__(
        self, inner: StorageDriver, metrics: StorageMetrics, tracing: Tracing | None = None
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.lists_in_bulk = inner.lists_in_bulk
        self._tracing = tracing
        # Children resolved once: labels() costs a dict lookup and a lock per call otherwise.
        self._timers = {
            action: metrics.action.labels(inner.name, action)
            for action in (
                "GetContent",
                "PutContent",
                "Reader",
                "Writer",
                "Stat",
                "List",
                "Move",
                "Delete",
                "URLFor",
            )
        }

    def __repr__(self) -> str:
        return f"InstrumentedDriver({self.inner!r})"

    @contextlib.contextmanager
    def _observe(self, action: str, path: str) -> Iterator[None]:
        timer = self._timers[action]
        started = time.perf_counter()
        try:
            if self._tracing is None:
                yield
            else:
                attributes = {"storage.driver": self.name, "storage.path": path}
                with self._tracing.span(f"storage.{action}", attributes):
                    yield
        finally:
            timer.observe(time.perf_counter() - started)

    async def get_content(self, path: str) -> bytes:
        with self._observe("GetContent", path):
            return await self.inner.get_content(path)

    async def get_many(self, paths: Sequence[str]) -> builtins.list[bytes | None]:
        with self._observe("GetContent", paths[0] if paths else "/"):
            return await self.inner.get_many(paths)

    async def put_content(self, path: str, content: bytes) -> None:
        with self._observe("PutContent", path):
            await self.inner.put_content(path, content)

    async def reader(self, path: str, offset: int = 0) -> FileReader:
        with self._observe("Reader", path):
            return await self.inner.reader(path, offset)

    async def writer(self, path: str, append: bool = False) -> FileWriter:
        with self._observe("Writer", path):
            return await self.inner.writer(path, append)

    async def stat(self, path: str) -> FileInfo:
        with self._observe("Stat", path):
            return await self.inner.stat(path)

    async def list(self, path: str) -> list[str]:
        with self._observe("List", path):
            return await self.inner.list(path)

    async def list_page(
        self, path: str, start_after: str = "", limit: int | None = None
    ) -> builtins.list[str]:
        with self._observe("List", path):
            return await self.inner.list_page(path, start_after, limit)

    async def list_pages(
        self, paths: Sequence[str], limit: int | None = None
    ) -> builtins.list[builtins.list[str] | None]:
        with self._observe("List", paths[0] if paths else "/"):
            return await self.inner.list_pages(paths, limit)

    async def stamps(self, paths: Sequence[str]) -> builtins.list[Hashable] | None:
        with self._observe("Stat", paths[0] if paths else "/"):
            return await self.inner.stamps(paths)

    async def move(self, source: str, dest: str) -> None:
        with self._observe("Move", source):
            await self.inner.move(source, dest)

    async def delete(self, path: str) -> None:
        with self._observe("Delete", path):
            await self.inner.delete(path)

    async def redirect_url(self, path: str, method: str) -> str | None:
        with self._observe("URLFor", path):
            return await self.inner.redirect_url(path, method)

    def local_path(self, path: str) -> str | None:
        return self.inner.local_path(path)

    def walk(self, path: str) -> AsyncIterator[FileInfo]:
        # The inner driver's own walk (a backend may list a tree in bulk); not timed as one call.
        return self.inner.walk(path)

    async def aclose(self) -> None:
        await self.inner.aclose()
