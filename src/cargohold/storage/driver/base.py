"""The storage driver interface every backend implements (filesystem, in-memory, S3).

Paths are driver-neutral, absolute and slash-separated: ``/docker/registry/v2/...``. Each
component matches ``[A-Za-z0-9._-]+``; anything else raises InvalidPath. Drivers raise only
``cargohold.errors.StorageError`` subclasses for expected failures (PathNotFound above all).
"""

from __future__ import annotations

import asyncio
import builtins
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Hashable, Sequence
from dataclasses import dataclass

from cargohold.errors import InvalidPath, PathNotFound

_PATH_RE = re.compile(r"(?:/[A-Za-z0-9._-]+)+")

# Default chunk size for streaming reads: large enough to amortise syscalls, small enough to
# keep memory per connection bounded.
READ_CHUNK_SIZE = 1 << 20

# Bounded fan-out of the default get_many, so one bulk read cannot flood a remote backend.
_GET_MANY_CONCURRENCY = 32


def check_path(path: str) -> str:
    """Return ``path`` if it is a valid driver path; raise InvalidPath otherwise."""
    # fullmatch, not match: ``$`` would also accept a trailing newline ("/a\n").
    if not _PATH_RE.fullmatch(path) or "/../" in f"{path}/" or "/./" in f"{path}/":
        raise InvalidPath(f"invalid storage path {path!r}")
    return path


@dataclass(frozen=True, slots=True)
class FileInfo:
    """Metadata of one path: ``size`` is 0 for directories; ``mod_time`` is a POSIX timestamp."""

    path: str
    size: int
    mod_time: float
    is_dir: bool


class FileReader(ABC):
    """A streaming reader opened at an offset; iterate it for chunks, always close it."""

    @abstractmethod
    async def read(self, n: int = READ_CHUNK_SIZE) -> bytes:
        """Return up to ``n`` bytes; ``b""`` at end of file."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the underlying resources; idempotent."""

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        while chunk := await self.read():
            yield chunk

    async def __aenter__(self) -> FileReader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class FileWriter(ABC):
    """A streaming writer for one path.

    Bytes written are persisted for a later ``writer(path, append=True)`` once ``close`` returns;
    ``commit`` finalises the content (no more appends); ``cancel`` discards it. A writer that is
    neither committed nor closed may lose the bytes written since it was opened.
    """

    @property
    @abstractmethod
    def size(self) -> int:
        """Total bytes at the path: what existed before an append plus what was written since."""

    @abstractmethod
    async def write(self, data: bytes) -> None:
        """Append ``data``."""

    async def reserve(self, nbytes: int) -> None:  # noqa: B027 - a hint, ignored by default
        """Announce that about ``nbytes`` more bytes will follow, so storage may allocate ahead.

        A hint: more or fewer may come, and space reserved but not written is given back.
        """

    @abstractmethod
    async def close(self) -> None:
        """Persist what was written so far; idempotent."""

    @abstractmethod
    async def commit(self) -> None:
        """Flush and finalise the content; the writer is closed afterwards."""

    @abstractmethod
    async def cancel(self) -> None:
        """Discard the content at the path; the writer is closed afterwards."""

    async def __aenter__(self) -> FileWriter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class StorageDriver(ABC):
    """Async access to a tree of byte objects; every method is safe to call concurrently.

    Atomicity: ``put_content`` and ``move`` replace their target atomically, so a reader sees
    either the old or the new content, never a mix, even if the process dies mid-call.
    Concurrency: a ``put_content`` racing a ``delete`` of its directory, or a ``delete`` racing
    writes into the tree, each still succeed (in some order); neither fails because of the other.
    """

    name: str = "base"
    #: True when ``walk`` lists a whole tree in a few bulk requests (object stores): a walk
    #: then beats reading the tree's files one by one.
    lists_in_bulk: bool = False

    @abstractmethod
    async def get_content(self, path: str) -> bytes:
        """Return the whole content at ``path``; raise PathNotFound. Meant for small objects."""

    @abstractmethod
    async def put_content(self, path: str, content: bytes) -> None:
        """Atomically create or replace ``path`` with ``content``, creating parents."""

    @abstractmethod
    async def reader(self, path: str, offset: int = 0) -> FileReader:
        """Open a streaming reader at ``offset``; raise PathNotFound, InvalidOffset if negative."""

    @abstractmethod
    async def writer(self, path: str, append: bool = False) -> FileWriter:
        """Open a writer; with ``append`` continue existing content (PathNotFound if none)."""

    @abstractmethod
    async def stat(self, path: str) -> FileInfo:
        """Return metadata of a file or directory; raise PathNotFound."""

    @abstractmethod
    async def list(self, path: str) -> list[str]:
        """Return the full paths of the direct children of directory ``path``; PathNotFound if absent."""

    async def get_many(self, paths: Sequence[str]) -> builtins.list[bytes | None]:
        """The contents of many small files, None where one is absent; in ``paths`` order.

        Meant for link files read in bulk (tags lists): a local backend answers in one executor
        hop instead of one per file. This default fans out with bounded concurrency.
        """
        sem = asyncio.Semaphore(_GET_MANY_CONCURRENCY)

        async def one(path: str) -> bytes | None:
            async with sem:
                try:
                    return await self.get_content(path)
                except PathNotFound:
                    return None

        return list(await asyncio.gather(*map(one, paths)))

    async def list_page(
        self, path: str, start_after: str = "", limit: int | None = None
    ) -> builtins.list[str]:
        """The first ``limit`` (all if None) children of ``path`` named after ``start_after``.

        Full paths in name order, as ``list`` gives them; PathNotFound if ``path`` is absent. A
        backend that can skip to a name (S3's StartAfter) overrides this, so a paginated walk
        costs its page, not the whole directory.
        """
        children = [c for c in await self.list(path) if c.rsplit("/", 1)[1] > start_after]
        return children if limit is None else children[:limit]

    async def list_pages(
        self, paths: Sequence[str], limit: int | None = None
    ) -> builtins.list[builtins.list[str] | None]:
        """``list_page(path, "", limit)`` of each of ``paths``, None where one is absent.

        A catalog page looks into each repository on it; a local backend answers all of them in
        one executor hop. This default fans out with bounded concurrency.
        """
        sem = asyncio.Semaphore(_GET_MANY_CONCURRENCY)

        async def one(path: str) -> builtins.list[str] | None:
            async with sem:
                try:
                    return await self.list_page(path, "", limit)
                except PathNotFound:
                    return None

        return list(await asyncio.gather(*map(one, paths)))

    async def stamps(self, paths: Sequence[str]) -> builtins.list[Hashable] | None:
        """A change stamp of each directory in ``paths`` (None where absent), or None if unsupported.

        A directory's stamp changes whenever an entry is added to or removed from it, to the
        resolution of the backend's clock (see ``stamped.StampedCache``). Object stores have
        no directories to stamp and return None, which disables the caches built on stamps.
        """
        return None

    @abstractmethod
    async def move(self, source: str, dest: str) -> None:
        """Atomically move a file to ``dest`` (replacing it), creating parents; PathNotFound."""

    @abstractmethod
    async def delete(self, path: str) -> None:
        """Recursively delete a file or directory; raise PathNotFound if absent."""

    async def redirect_url(self, path: str, method: str) -> str | None:
        """Return a URL the client may fetch ``path`` from directly, or None to serve it here."""
        return None

    def local_path(self, path: str) -> str | None:
        """Return an OS path for zero-copy ``sendfile``, or None when the driver has none."""
        return None

    async def walk(self, path: str) -> AsyncIterator[FileInfo]:
        """Yield every file and directory under ``path`` depth-first, in sorted order."""
        for child in sorted(await self.list(path)):
            info = await self.stat(child)
            yield info
            if info.is_dir:
                async for sub in self.walk(child):
                    yield sub

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most drivers hold nothing
        """Release connections or other resources held by the driver."""
