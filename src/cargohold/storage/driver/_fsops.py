"""Blocking filesystem operations of the filesystem driver, one function per executor hop.

Each function takes the driver path (for error messages) and its OS path, performs every
syscall of one driver operation and raises only ``cargohold.errors`` exceptions.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat as stat_mod
import sys
from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar

from cargohold.errors import CargoholdError, InvalidPath, PathNotFound, StorageError
from cargohold.storage.driver import _reserve
from cargohold.storage.driver._aligned import ALIGN
from cargohold.storage.driver._writeback import start_writeback
from cargohold.storage.driver.base import FileInfo

T = TypeVar("T")

# Prefix of put_content's temporary files; a crash can leave one behind, so list/walk hide them.
# Real entries never start with a dot: OCI names and tags cannot (distribution-spec §Pulling).
TEMP_PREFIX = ".cargohold-tmp-"

# makedirs + write + rename can race a concurrent delete of the parent. Each failed attempt means
# some delete made progress, and deletes are finite, so retrying is bounded by real contention;
# the cap only stops a pathological loop.
_CREATE_ATTEMPTS = 100


def translate(exc: OSError, path: str, *, writing: bool) -> CargoholdError:
    """Map an OSError to the domain error for ``path``.

    Reading through a file or at a directory finds no file (PathNotFound); writing there
    conflicts with the tree's shape (InvalidPath). Anything else is a StorageError.
    """
    if isinstance(exc, FileNotFoundError):
        return PathNotFound(f"path not found: {path}")
    shape = (NotADirectoryError, IsADirectoryError, FileExistsError)
    if isinstance(exc, shape) or exc.errno == errno.ENOTEMPTY:
        if writing:
            return InvalidPath(f"{path} conflicts with an existing file or directory")
        return PathNotFound(f"path not found: {path}")
    return StorageError(f"filesystem error on {path}: {exc.strerror or exc}")


@contextlib.contextmanager
def translated(path: str, *, writing: bool = False) -> Iterator[None]:
    """Re-raise any OSError in the block as the domain error ``translate`` picks."""
    try:
        yield
    except OSError as exc:
        raise translate(exc, path, writing=writing) from exc


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``; os.write may write less than asked."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_file(full: str) -> None:
    """Persist a file's content and size (any descriptor of it will do)."""
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: str) -> None:
    """Persist a directory's entries so a rename survives power loss, not only a crash."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except FileNotFoundError:
        return  # a concurrent delete removed it, and what we wrote with it: nothing to persist
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _in_new_dir(parent: str, fn: Callable[[], T]) -> T:
    """Create ``parent`` and run ``fn``, retrying if a concurrent delete removes it in between."""
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            # makedirs raises FileExistsError (despite exist_ok) or FileNotFoundError when a
            # concurrent rmtree removes a component between its mkdir calls: try again.
            os.makedirs(parent, exist_ok=True)
            return fn()
        except (FileNotFoundError, FileExistsError):
            if attempt == _CREATE_ATTEMPTS - 1 or _is_non_directory(parent):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _is_non_directory(path: str) -> bool:
    """True if ``path`` exists as something other than a directory: a real conflict, not a race."""
    try:
        # One lstat: separate exists/isdir checks would race the very delete being absorbed.
        return not stat_mod.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _rmtree(full: str) -> None:
    """Remove a tree, tolerating entries a concurrent delete already removed."""

    def ignore_missing(exc: BaseException) -> None:
        if not isinstance(exc, FileNotFoundError):
            raise exc

    for attempt in range(_CREATE_ATTEMPTS):
        try:
            if sys.version_info >= (3, 12):
                shutil.rmtree(full, onexc=lambda f, p, e: ignore_missing(e))
            else:
                shutil.rmtree(full, onerror=lambda f, p, ei: ignore_missing(ei[1]))
            return
        except OSError as exc:
            # A concurrent write landed inside while we removed it: remove that too.
            if exc.errno != errno.ENOTEMPTY or attempt == _CREATE_ATTEMPTS - 1:
                raise


def get(path: str, full: str) -> bytes:
    with translated(path), open(full, "rb") as f:
        return f.read()


def get_many(paths: list[tuple[str, str]]) -> list[bytes | None]:
    """Read many small files in one executor hop; None for each missing one."""
    out: list[bytes | None] = []
    for path, full in paths:
        try:
            out.append(get(path, full))
        except PathNotFound:
            out.append(None)
    return out


def put(path: str, full: str, content: bytes) -> None:
    """Write a temp file beside ``full``, fsync it, rename it over ``full``, fsync the dir."""
    parent = os.path.dirname(full)
    tmp = os.path.join(parent, TEMP_PREFIX + secrets.token_hex(8))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL

    def write_and_rename() -> None:
        fd = os.open(tmp, flags, 0o666)
        try:
            try:
                write_all(fd, content)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, full)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    with translated(path, writing=True):
        # The whole write is retried: a concurrent delete of the directory takes the temp file
        # with it, so the rename would otherwise fail with FileNotFoundError.
        _in_new_dir(parent, write_and_rename)
        _fsync_dir(parent)


def open_reader(path: str, full: str, offset: int) -> int:
    """Return a descriptor positioned at ``offset`` (past the end is allowed)."""
    with translated(path):
        fd = os.open(full, os.O_RDONLY)
        try:
            if stat_mod.S_ISDIR(os.fstat(fd).st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory", full)
            os.lseek(fd, offset, os.SEEK_SET)
        except BaseException:
            os.close(fd)
            raise
        return fd


def open_writer(path: str, full: str, append: bool, direct: bool) -> tuple[int, int | None, int]:
    """Return a descriptor, an ``O_DIRECT`` one of the same file (or None) and the current size.

    Appending needs an existing file. Writes go to explicit offsets (``pwrite``), so neither
    descriptor has ``O_APPEND``, which Linux would let override them.
    """
    if append:
        # No O_CREAT: appending to nothing (or to a directory) is PathNotFound.
        with translated(path):
            fd = os.open(full, os.O_WRONLY)
            size = os.fstat(fd).st_size
    else:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        with translated(path, writing=True):
            fd = _in_new_dir(os.path.dirname(full), lambda: os.open(full, flags, 0o666))
            size = 0
    return fd, _reopen_direct(fd) if direct else None, size


def _reopen_direct(fd: int) -> int | None:
    """An ``O_DIRECT`` descriptor of ``fd``'s very inode, or None where that is refused.

    Reopening through /proc cannot race a rename of the path; filesystems without direct I/O
    (some FUSE and network ones, ext4 with data=journal) refuse the flag with EINVAL.
    """
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return None
    try:
        return os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | flag)
    except OSError:
        return None


def pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset``; os.pwrite may write less than asked."""
    while data:
        done = os.pwrite(fd, data, offset)
        data, offset = data[done:], offset + done


#: A byte range of a file to allocate ahead of a write: (offset, length).
Reservation = tuple[int, int] | None


def write_at(
    path: str,
    fd: int,
    direct: int | None,
    data: memoryview,
    offset: int,
    reservation: Reservation = None,
) -> bool:
    """Write ``data`` at file ``offset``: whole aligned blocks through ``direct`` if given (no
    page-cache copy), the ragged head and tail through ``fd``; allocate ``reservation`` first.

    ``data`` must sit in memory at the same alignment as ``offset`` (``_aligned``). Returns False
    when the filesystem refused the direct write (EINVAL) and everything went through ``fd``:
    the caller should stop using ``direct``.
    """
    if reservation is not None:
        _reserve.reserve(fd, *reservation)
    with translated(path):
        if direct is not None:
            head = min(-offset % ALIGN, len(data))
            body = (len(data) - head) // ALIGN * ALIGN
            if body:
                # Head first: a crash between the writes must not leave a hole inside the file.
                _buffered(fd, data[:head], offset)
                try:
                    pwrite_all(direct, data[head : head + body], offset + head)
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    _buffered(fd, data[head:], offset + head)
                    return False
                _buffered(fd, data[head + body :], offset + head + body)
                return True
        _buffered(fd, data, offset)
    return True


# Buffered writes go out in pieces of this size. The kernel sizes the page-cache folios it
# allocates by the write's length: from 256 KiB up, writing 1 GiB through the cache cost
# 0.6-2.1 s of system CPU on the benchmark VM (large contiguous allocations, often of memory the
# hypervisor has to fault in), at 16-128 KiB a steady 0.25-0.4 s. Go's bufio writes 32 KiB.
CACHED_WRITE_PIECE = 128 * 1024


def _buffered(fd: int, data: memoryview, offset: int) -> None:
    """Write through the page cache and start its writeback early (the commit fsyncs)."""
    if not data:
        return
    for start in range(0, len(data), CACHED_WRITE_PIECE):
        pwrite_all(fd, data[start : start + CACHED_WRITE_PIECE], offset + start)
    start_writeback(fd, offset, len(data))


def write_and_finish(
    path: str,
    fd: int,
    direct: int | None,
    data: memoryview,
    offset: int,
    fsync: bool,
    reserved: bool = False,
) -> None:
    """:func:`write_at`, then :func:`finish`: a writer's last hop; closes even on failure."""
    try:
        write_at(path, fd, direct, data, offset)
    except BaseException:
        finish(path, fd, direct, fsync=False, reserved=reserved)
        raise
    finish(path, fd, direct, fsync, reserved)


def finish(path: str, fd: int, direct: int | None, fsync: bool, reserved: bool = False) -> None:
    """Release blocks reserved past the end if any were (``reserved``), optionally fsync, then
    close both descriptors (even on failure)."""
    try:
        if reserved:
            _reserve.release_unused(fd)
        if fsync:
            with translated(path):
                os.fsync(fd)
    finally:
        if direct is not None:
            os.close(direct)
        os.close(fd)


def discard(path: str, full: str, fd: int | None, direct: int | None) -> None:
    """Close the descriptors that are open and unlink the file (already gone is fine)."""
    for descriptor in (fd, direct):
        if descriptor is not None:
            os.close(descriptor)
    with translated(path), contextlib.suppress(FileNotFoundError, IsADirectoryError):
        os.unlink(full)


def stat(path: str, full: str) -> FileInfo:
    with translated(path):
        st = os.stat(full)
    is_dir = stat_mod.S_ISDIR(st.st_mode)
    return FileInfo(path, 0 if is_dir else st.st_size, st.st_mtime, is_dir)


def list_names(path: str, full: str) -> list[str]:
    """Sorted names of the children of a directory, temp files hidden."""
    with translated(path), os.scandir(full) as entries:
        return sorted(e.name for e in entries if not e.name.startswith(TEMP_PREFIX))


def directory_stamp(path: str, full: str) -> tuple[int, int]:
    """The (inode, mtime) of a directory; PathNotFound if absent or not a directory."""
    with translated(path):
        st = os.stat(full)
    if not stat_mod.S_ISDIR(st.st_mode):
        raise PathNotFound(f"path not found: {path}")
    return st.st_ino, st.st_mtime_ns


def stamps(fulls: list[str]) -> list[Hashable]:
    """``directory_stamp`` of each directory, None where one is absent."""
    out: list[Hashable] = []
    for full in fulls:
        try:
            out.append(directory_stamp(full, full))
        except PathNotFound:
            out.append(None)
    return out


def scan(path: str, full: str, strict: bool) -> list[FileInfo]:
    """FileInfo of every child sorted by path; a missing directory is [] unless ``strict``."""
    infos: list[FileInfo] = []
    try:
        with os.scandir(full) as entries:
            for entry in entries:
                if entry.name.startswith(TEMP_PREFIX):
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:  # removed since scandir saw it
                    continue
                is_dir = stat_mod.S_ISDIR(st.st_mode)
                size = 0 if is_dir else st.st_size
                infos.append(FileInfo(f"{path}/{entry.name}", size, st.st_mtime, is_dir))
    except (FileNotFoundError, NotADirectoryError) as exc:
        if strict:
            raise PathNotFound(f"path not found: {path}") from exc
        return []
    except OSError as exc:
        raise translate(exc, path, writing=False) from exc
    infos.sort(key=lambda i: i.path)
    return infos


def move(source: str, full_source: str, dest: str, full_dest: str) -> None:
    """Fsync ``full_source``, rename it over ``full_dest`` (creating parents), fsync the parent.

    The content is made durable before the rename publishes it: a blob adopted from an upload
    must not come back empty or short after a power loss while its links survive.
    """
    with translated(source):
        _fsync_file(full_source)
    parent = os.path.dirname(full_dest)

    def rename() -> None:
        try:
            os.replace(full_source, full_dest)
        except FileNotFoundError:
            # The source vanished meanwhile (final), or dest's new parent did (retried).
            if not os.path.lexists(full_source):
                raise PathNotFound(f"path not found: {source}") from None
            raise
        except OSError as exc:
            if exc.errno == errno.EINVAL:  # a directory moved into its own subtree
                raise InvalidPath(f"cannot move {source} into {dest}") from exc
            raise

    with translated(dest, writing=True):
        _in_new_dir(parent, rename)
        _fsync_dir(parent)


def delete(path: str, full: str) -> None:
    with translated(path):
        if stat_mod.S_ISDIR(os.lstat(full).st_mode):
            _rmtree(full)
        else:
            os.unlink(full)
