"""The in-memory driver: a tree of byte buffers in process memory, for tests and throwaway runs.

It mirrors the filesystem driver's semantics: directories are created by writes and stay
(possibly empty) until deleted, files replaced by ``put_content`` or ``move`` keep serving open
readers their old content, and writing across the other kind of entry raises InvalidPath.
"""

from __future__ import annotations

import builtins
import itertools
import threading
import time
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from typing import Any

from cargohold.errors import InvalidOffset, InvalidPath, PathNotFound, StorageError
from cargohold.storage.driver.base import (
    READ_CHUNK_SIZE,
    FileInfo,
    FileReader,
    FileWriter,
    StorageDriver,
    check_path,
)

__all__ = ["InMemoryDriver", "from_parameters"]


class _File:
    __slots__ = ("data", "mod_time")

    def __init__(self, data: bytes = b"") -> None:
        self.data = bytearray(data)
        self.mod_time = time.time()


# Directory versions: unique across directories, so a replaced directory never repeats a stamp.
_VERSIONS = itertools.count()


class _Dir:
    __slots__ = ("children", "mod_time", "version")

    def __init__(self) -> None:
        self.children: dict[str, _File | _Dir] = {}
        self.mod_time = time.time()
        self.version = next(_VERSIONS)

    def touch(self) -> None:
        """Record a change of the children."""
        self.mod_time = time.time()
        self.version = next(_VERSIONS)


_Node = _File | _Dir


def _split(path: str) -> tuple[list[str], str]:
    parts = check_path(path).split("/")[1:]
    return parts[:-1], parts[-1]


def _collect(path: str, node: _Dir, out: list[FileInfo]) -> None:
    """Append the FileInfo of everything under ``node`` to ``out``, depth-first and sorted."""
    for name in sorted(node.children):
        child, child_path = node.children[name], f"{path}/{name}"
        if isinstance(child, _Dir):
            out.append(FileInfo(child_path, 0, child.mod_time, True))
            _collect(child_path, child, out)
        else:
            out.append(FileInfo(child_path, len(child.data), child.mod_time, False))


class InMemoryDriver(StorageDriver):
    """Holds the tree in memory; every operation runs under one lock without awaiting, so
    each is atomic with respect to other tasks and threads."""

    name = "inmemory"

    def __init__(self) -> None:
        self._root = _Dir()
        self._lock = threading.Lock()

    # Lookups below run with the lock held.

    def _find(self, path: str) -> _Node:
        """Return the node at ``path``; PathNotFound if it or a directory above it is missing."""
        node: _Node = self._root
        for part in check_path(path).split("/")[1:]:
            child = node.children.get(part) if isinstance(node, _Dir) else None
            if child is None:
                raise PathNotFound(f"path not found: {path}")
            node = child
        return node

    def _find_file(self, path: str) -> _File:
        node = self._find(path)
        if not isinstance(node, _File):
            raise PathNotFound(f"path not found: {path} is a directory")
        return node

    def _parent(self, path: str, *, create: bool) -> tuple[_Dir, str]:
        """Return the directory holding ``path`` and its last component.

        With ``create`` missing directories are made (InvalidPath if a file is in the way);
        without it a missing one raises PathNotFound.
        """
        dirs, name = _split(path)
        node = self._root
        for part in dirs:
            child = node.children.get(part)
            if child is None:
                if not create:
                    raise PathNotFound(f"path not found: {path}")
                child = node.children[part] = _Dir()
                node.touch()
            if isinstance(child, _File):
                raise InvalidPath(f"{path} conflicts with an existing file")
            node = child
        return node, name

    def _install(self, path: str, new: _Node) -> None:
        """Put ``new`` at ``path`` (creating parents), replacing a node of the same kind."""
        parent, name = self._parent(path, create=True)
        old = parent.children.get(name)
        if old is not None and old is not new:
            if isinstance(old, _Dir) and (isinstance(new, _File) or old.children):
                raise InvalidPath(f"{path} conflicts with an existing directory")
            if isinstance(old, _File) and isinstance(new, _Dir):
                raise InvalidPath(f"{path} conflicts with an existing file")
        parent.children[name] = new
        parent.touch()

    async def get_content(self, path: str) -> bytes:
        """Return a copy of the file's bytes; PathNotFound for a missing path or a directory."""
        with self._lock:
            return bytes(self._find_file(path).data)

    async def put_content(self, path: str, content: bytes) -> None:
        """Replace ``path`` with a new file node; open readers keep the old one."""
        new = _File(content)
        with self._lock:
            self._install(path, new)

    async def reader(self, path: str, offset: int = 0) -> FileReader:
        """Open a reader on the current file node; an offset past the end reads as empty."""
        check_path(path)
        if offset < 0:
            raise InvalidOffset(f"negative offset {offset} for {path}")
        with self._lock:
            node = self._find_file(path)
        return _MemoryReader(self._lock, node, offset)

    async def writer(self, path: str, append: bool = False) -> FileWriter:
        """Open a writer; without ``append`` a new empty file replaces ``path`` at once."""
        with self._lock:
            if append:
                node = self._find_file(path)
            else:
                node = _File()
                self._install(path, node)
            return _MemoryWriter(self, path, node)

    async def stat(self, path: str) -> FileInfo:
        """Return size (0 for directories), mtime and kind; PathNotFound if absent."""
        with self._lock:
            node = self._find(path)
            if isinstance(node, _Dir):
                return FileInfo(path, 0, node.mod_time, True)
            return FileInfo(path, len(node.data), node.mod_time, False)

    async def list(self, path: str) -> list[str]:
        """Return the sorted full paths of the direct children; PathNotFound for a file."""
        with self._lock:
            node = self._find(path)
            if not isinstance(node, _Dir):
                raise PathNotFound(f"path not found: {path} is a file")
            return [f"{path}/{name}" for name in sorted(node.children)]

    async def stamps(self, paths: Sequence[str]) -> builtins.list[Hashable] | None:
        """Each directory's version, which every change of its entries renews; None if absent."""
        out: builtins.list[Hashable] = []
        with self._lock:
            for path in paths:
                try:
                    node = self._find(path)
                except PathNotFound:
                    node = None
                out.append(node.version if isinstance(node, _Dir) else None)
        return out

    async def move(self, source: str, dest: str) -> None:
        """Move the node at ``source`` over ``dest``, creating parents; PathNotFound."""
        check_path(dest)
        with self._lock:
            node = self._find(source)
            if source == dest:
                return
            if dest.startswith(f"{source}/"):
                raise InvalidPath(f"cannot move {source} into {dest}")
            self._install(dest, node)
            parent, name = self._parent(source, create=False)
            del parent.children[name]
            parent.touch()

    async def delete(self, path: str) -> None:
        """Remove a file or a whole subtree; PathNotFound if absent."""
        with self._lock:
            self._find(path)
            parent, name = self._parent(path, create=False)
            del parent.children[name]
            parent.touch()

    async def walk(self, path: str) -> AsyncIterator[FileInfo]:
        """Yield every entry under ``path`` depth-first in sorted order, from one snapshot."""
        with self._lock:
            node = self._find(path)
            if not isinstance(node, _Dir):
                raise PathNotFound(f"path not found: {path} is a file")
            infos: list[FileInfo] = []
            _collect(path, node, infos)
        for info in infos:
            yield info


class _MemoryReader(FileReader):
    """Reads one file node; a node replaced at its path keeps serving the old bytes."""

    def __init__(self, lock: threading.Lock, node: _File, offset: int) -> None:
        self._lock = lock
        self._node: _File | None = node
        self._pos = offset

    async def read(self, n: int = READ_CHUNK_SIZE) -> bytes:
        if self._node is None:
            raise StorageError("read from a closed reader")
        with self._lock:
            chunk = bytes(self._node.data[self._pos : self._pos + max(n, 0)])
        self._pos += len(chunk)
        return chunk

    async def aclose(self) -> None:
        self._node = None


class _MemoryWriter(FileWriter):
    """Appends straight into the file node, so written bytes are visible immediately."""

    def __init__(self, driver: InMemoryDriver, path: str, node: _File) -> None:
        self._driver = driver
        self._path = path
        self._node = node
        self._size = len(node.data)
        self._closed = False
        self._committed = False
        self._cancelled = False

    @property
    def size(self) -> int:
        return self._size

    async def write(self, data: bytes) -> None:
        """Append ``data``; StorageError if the writer is closed."""
        if self._closed:
            raise StorageError(f"write to a closed writer for {self._path}")
        with self._driver._lock:
            self._node.data += data
            self._node.mod_time = time.time()
        self._size += len(data)

    async def close(self) -> None:
        self._closed = True

    async def commit(self) -> None:
        """Finalise; StorageError if already closed or cancelled."""
        if self._committed:
            return
        if self._closed:
            raise StorageError(f"commit of a closed writer for {self._path}")
        self._closed = self._committed = True

    async def cancel(self) -> None:
        """Close and remove the file at the path; idempotent."""
        if self._cancelled:
            return
        self._closed = self._cancelled = True
        driver = self._driver
        with driver._lock:
            try:
                parent, name = driver._parent(self._path, create=False)
            except (PathNotFound, InvalidPath):
                return
            if isinstance(parent.children.get(name), _File):
                del parent.children[name]
                parent.touch()


def from_parameters(params: Mapping[str, Any]) -> InMemoryDriver:
    """Build the driver; it takes no parameters."""
    from cargohold.storage.driver.factory import check_params

    check_params("inmemory", params, ())
    return InMemoryDriver()
