"""The filesystem driver against the shared driver suite, plus what only a filesystem has."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import itertools
import os
import random
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cargohold.errors import InvalidPath, PathNotFound, StorageError
from cargohold.storage.driver import _fsops, _reserve, filesystem
from cargohold.storage.driver._aligned import ALIGN
from cargohold.storage.driver.base import StorageDriver
from cargohold.storage.driver.filesystem import (
    CACHED_LISTING_MIN,
    TEMP_PREFIX,
    WRITE_BUFFER_SIZE,
    FilesystemDriver,
)
from cargohold.testing.driver_suite import DriverSuite, read_all


class TestFilesystemDriver(DriverSuite):
    @pytest.fixture
    async def driver(self, tmp_path: Path) -> AsyncIterator[StorageDriver]:
        d = FilesystemDriver(str(tmp_path / "root"))
        yield d
        await d.aclose()


class TestFilesystemDriverDirect(DriverSuite):
    """``directwrites: true``: whole blocks of upload data bypass the page cache."""

    @pytest.fixture
    async def driver(self, tmp_path: Path) -> AsyncIterator[StorageDriver]:
        d = FilesystemDriver(str(tmp_path / "root"), directwrites=True)
        yield d
        await d.aclose()


@pytest.fixture
async def fs(tmp_path: Path) -> AsyncIterator[FilesystemDriver]:
    d = FilesystemDriver(str(tmp_path / "root"))
    yield d
    await d.aclose()


@pytest.fixture
async def direct_fs(tmp_path: Path) -> AsyncIterator[FilesystemDriver]:
    d = FilesystemDriver(str(tmp_path / "root"), directwrites=True)
    yield d
    await d.aclose()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_on_disk_layout_matches_distribution(fs: FilesystemDriver, tmp_path: Path) -> None:
    # CNCF Distribution's filesystem driver stores driver path P at <rootdirectory>/P.
    link = "/docker/registry/v2/repositories/library/alpine/_manifests/tags/latest/current/link"
    data = "/docker/registry/v2/blobs/sha256/ab/" + "ab" * 32 + "/data"
    await fs.put_content(link, b"sha256:" + b"ab" * 32)
    writer = await fs.writer(data)
    await writer.write(b"layer bytes")
    await writer.commit()
    root = tmp_path / "root"
    assert (root / link.lstrip("/")).read_bytes() == b"sha256:" + b"ab" * 32
    assert (root / data.lstrip("/")).read_bytes() == b"layer bytes"


async def test_reads_a_tree_written_by_another_process(
    fs: FilesystemDriver, tmp_path: Path
) -> None:
    blob_dir = tmp_path / "root/docker/registry/v2/blobs/sha256/cd"
    blob_dir.mkdir(parents=True)
    (blob_dir / "data").write_bytes(b"from distribution")
    base = "/docker/registry/v2/blobs/sha256"
    assert await fs.get_content(f"{base}/cd/data") == b"from distribution"
    assert await fs.list(base) == [f"{base}/cd"]
    assert [i.path async for i in fs.walk(base)] == [f"{base}/cd", f"{base}/cd/data"]


async def test_put_content_leaves_no_temp_files(fs: FilesystemDriver, tmp_path: Path) -> None:
    for i in range(5):
        await fs.put_content("/dir/file", str(i).encode())
    await fs.put_content("/dir/other", b"x")
    assert sorted(os.listdir(tmp_path / "root/dir")) == ["file", "other"]


async def test_local_path(fs: FilesystemDriver, tmp_path: Path) -> None:
    await fs.put_content("/a/b", b"bytes")
    local = fs.local_path("/a/b")
    assert local == str(tmp_path / "root/a/b")
    assert Path(local).read_bytes() == b"bytes"  # noqa: ASYNC240 - a test may block briefly
    assert fs.local_path("/missing") == str(tmp_path / "root/missing")
    with pytest.raises(InvalidPath):
        fs.local_path("/a/../../etc/passwd")


def test_root_directory_is_made_absolute_and_may_be_slash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert FilesystemDriver("relative").rootdirectory == str(tmp_path / "relative")
    assert FilesystemDriver("/").local_path("/docker/x") == "/docker/x"
    with pytest.raises(ValueError, match="rootdirectory"):
        FilesystemDriver("")
    with pytest.raises(ValueError, match="maxthreads"):
        FilesystemDriver("/tmp", maxthreads=0)


async def test_root_directory_created_on_first_write(tmp_path: Path) -> None:
    d = FilesystemDriver(str(tmp_path / "not/yet"))
    try:
        with pytest.raises(PathNotFound):
            await d.list("/docker")
        await d.put_content("/docker/file", b"x")
        assert (tmp_path / "not/yet/docker/file").read_bytes() == b"x"
    finally:
        await d.aclose()


async def test_failed_put_keeps_old_content(
    fs: FilesystemDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fs.put_content("/dir/file", b"old content")

    def write_half_then_fail(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_fsops, "write_all", write_half_then_fail)
    with pytest.raises(StorageError, match="No space left"):
        await fs.put_content("/dir/file", b"new content that never lands")
    assert await fs.get_content("/dir/file") == b"old content"
    assert os.listdir(tmp_path / "root/dir") == ["file"]
    assert await fs.list("/dir") == ["/dir/file"]


async def test_temp_file_left_by_a_crash_is_hidden(fs: FilesystemDriver, tmp_path: Path) -> None:
    await fs.put_content("/dir/file", b"old")
    # What a process killed between creating and renaming its temp file leaves behind.
    (tmp_path / "root/dir" / f"{TEMP_PREFIX}0123456789abcdef").write_bytes(b"new, torn")
    assert await fs.get_content("/dir/file") == b"old"
    assert await fs.list("/dir") == ["/dir/file"]
    assert [i.path async for i in fs.walk("/dir")] == ["/dir/file"]


async def test_failed_buffer_flush_closes_writer(
    fs: FilesystemDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _open_fds()
    writer = await fs.writer("/upload")
    await writer.write(b"x" * 10)

    def fail(fd: int, data: memoryview, offset: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(_fsops, "pwrite_all", fail)
    # A full buffer is written while the next fills: its failure surfaces at the next step.
    await writer.write(b"y" * WRITE_BUFFER_SIZE)
    with pytest.raises(StorageError, match="Input/output"):
        await writer.write(b"y" * WRITE_BUFFER_SIZE)
    with pytest.raises(StorageError):
        await writer.write(b"z")
    await writer.close()
    assert _open_fds() == before  # both descriptors closed


async def test_writer_buffers_until_close(fs: FilesystemDriver, tmp_path: Path) -> None:
    writer = await fs.writer("/upload")
    await writer.write(b"small")
    assert (tmp_path / "root/upload").read_bytes() == b""  # still in the buffer
    await writer.write(b"x" * (2 * WRITE_BUFFER_SIZE))
    # Two buffers are full: the first has landed, the second may still be in flight.
    assert (tmp_path / "root/upload").stat().st_size >= WRITE_BUFFER_SIZE
    await writer.close()
    assert (tmp_path / "root/upload").stat().st_size == 2 * WRITE_BUFFER_SIZE + 5


def _allocated(path: Path) -> int:
    return path.stat().st_blocks * 512


@pytest.fixture
def reservations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(offset, length) of every reservation the writers make; they still take effect."""
    calls: list[tuple[int, int]] = []
    real = _reserve.reserve

    def spy(fd: int, offset: int, length: int) -> bool:
        calls.append((offset, length))
        return real(fd, offset, length)

    monkeypatch.setattr(_reserve, "reserve", spy)
    return calls


@pytest.mark.parametrize("direct", [True, False], ids=["directwrites", "buffered"])
async def test_announced_bytes_are_allocated_a_window_ahead_and_the_rest_given_back(
    tmp_path: Path, reservations: list[tuple[int, int]], direct: bool
) -> None:
    calls = reservations
    driver = FilesystemDriver(str(tmp_path / "root"), directwrites=direct)
    try:
        data = os.urandom(3 * WRITE_BUFFER_SIZE + 12345)
        writer = await driver.writer("/upload")
        await writer.reserve(1 << 40)  # a client may announce anything
        await writer.write(data)
        await writer.close()
        # Never further ahead than what was written: the first buffer (2 MiB) reserves through
        # 4 MiB, the third (6 MiB written) through 12 MiB. Not the terabyte.
        buffer = WRITE_BUFFER_SIZE
        assert calls == [(0, 2 * buffer), (2 * buffer, 4 * buffer)]
        path = tmp_path / "root/upload"
        assert path.read_bytes() == data
        # What the client never sent is not kept allocated (the file's own blocks, rounded).
        assert _allocated(path) < len(data) + (1 << 20)

        calls.clear()
        writer = await driver.writer("/upload", append=True)
        await writer.reserve(2 * WRITE_BUFFER_SIZE)
        await writer.write(data[: 2 * WRITE_BUFFER_SIZE])
        await writer.commit()
        # From the end of the file, in contiguous steps, to the end announced and no further.
        ranges = [(o, o + n) for o, n in calls]
        assert ranges[0][0] == len(data)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        assert ranges[-1][1] == len(data) + 2 * WRITE_BUFFER_SIZE
        assert path.read_bytes() == data + data[: 2 * WRITE_BUFFER_SIZE]
    finally:
        await driver.aclose()


async def test_the_reservation_window_is_capped(
    tmp_path: Path, reservations: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = reservations
    monkeypatch.setattr(filesystem, "RESERVE_AHEAD", 2 * WRITE_BUFFER_SIZE)
    driver = FilesystemDriver(str(tmp_path / "root"))
    try:
        writer = await driver.writer("/upload")
        await writer.reserve(64 * WRITE_BUFFER_SIZE)
        for _ in range(16):
            await writer.write(b"x" * WRITE_BUFFER_SIZE)
        await writer.commit()
    finally:
        await driver.aclose()
    # Contiguous; the first as far ahead as written (2 MiB), then the cap (4 MiB) past the write
    # that crossed the end of the last one. Far short of the 128 MiB announced.
    mib = WRITE_BUFFER_SIZE // 2
    assert calls == [(0, 4 * mib)] + [(o * mib, 6 * mib) for o in (4, 10, 16, 22, 28)]
    assert (tmp_path / "root/upload").stat().st_size == 16 * WRITE_BUFFER_SIZE
    assert _allocated(tmp_path / "root/upload") < 17 * WRITE_BUFFER_SIZE


async def test_space_reserved_before_a_failed_write_is_given_back(
    fs: FilesystemDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = await fs.writer("/upload")
    await writer.reserve(64 << 20)
    await writer.write(b"x" * 10)
    real = _fsops.pwrite_all

    def fail_after_reserving(fd: int, data: memoryview, offset: int) -> None:
        if offset >= WRITE_BUFFER_SIZE:
            raise OSError(errno.EIO, "Input/output error")
        real(fd, data, offset)

    monkeypatch.setattr(_fsops, "pwrite_all", fail_after_reserving)
    await writer.write(b"y" * 2 * WRITE_BUFFER_SIZE)
    with pytest.raises(StorageError, match="Input/output"):
        await writer.write(b"z" * WRITE_BUFFER_SIZE)
    await writer.close()
    path = tmp_path / "root/upload"
    assert path.stat().st_size == WRITE_BUFFER_SIZE  # the first buffer landed, the second failed
    assert _allocated(path) < 2 * WRITE_BUFFER_SIZE


def _ragged(total: int, seed: int) -> list[bytes]:
    """``total`` bytes of distinct content in chunks of awkward sizes (1 byte to 3 MiB)."""
    rng = random.Random(seed)
    chunks, done = [], 0
    while done < total:
        size = min(rng.choice([1, 511, 4095, 4096, 4097, 65_537, 1 << 20, 3 << 20]), total - done)
        chunks.append(rng.randbytes(size))
        done += size
    return chunks


@pytest.mark.parametrize("direct", [True, False], ids=["directwrites", "buffered"])
async def test_ragged_appends_across_reopens_keep_every_byte(tmp_path: Path, direct: bool) -> None:
    # Each reopen starts at an unaligned offset, so heads, whole blocks and tails all occur.
    d = FilesystemDriver(str(tmp_path), directwrites=direct)
    expected = b""
    try:
        for session in range(4):
            writer = await d.writer("/upload", append=session > 0)
            assert writer.size == len(expected)
            for chunk in _ragged(3 * WRITE_BUFFER_SIZE + 12_345 * session, seed=session):
                await writer.write(chunk)
                expected += chunk
            if session == 3:
                await writer.commit()
            else:
                await writer.close()
        assert (tmp_path / "upload").read_bytes() == expected
        assert await read_all(await d.reader("/upload"), 1 << 20) == expected
    finally:
        await d.aclose()


def _is_direct(fd: int) -> bool:
    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)


async def test_whole_blocks_bypass_the_page_cache_and_ragged_ends_do_not(
    direct_fs: FilesystemDriver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await direct_fs.put_content(
        "/upload", b"h" * 100
    )  # an append then starts 100 bytes into a block
    writes: list[tuple[bool, int, int]] = []
    real = _fsops.pwrite_all

    def record(fd: int, data: memoryview, offset: int) -> None:
        writes.append((_is_direct(fd), offset, len(data)))
        real(fd, data, offset)

    monkeypatch.setattr(_fsops, "pwrite_all", record)
    writer = await direct_fs.writer("/upload", append=True)
    await writer.write(b"d" * (WRITE_BUFFER_SIZE + 10_000))
    await writer.close()
    # The first buffer ends where a buffer ends, at WRITE_BUFFER_SIZE: a ragged head, then
    # whole blocks. The last holds 10,100 bytes: two whole blocks and a ragged tail.
    assert writes == [
        (False, 100, ALIGN - 100),
        (True, ALIGN, WRITE_BUFFER_SIZE - ALIGN),
        (True, WRITE_BUFFER_SIZE, 2 * ALIGN),
        (False, WRITE_BUFFER_SIZE + 2 * ALIGN, 10_100 - 2 * ALIGN),
    ]
    assert (tmp_path / "root/upload").read_bytes() == b"h" * 100 + b"d" * (
        WRITE_BUFFER_SIZE + 10_000
    )


async def test_by_default_every_write_goes_through_the_page_cache(
    fs: FilesystemDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[tuple[bool, int]] = []
    real = _fsops.pwrite_all

    def record(fd: int, data: memoryview, offset: int) -> None:
        writes.append((_is_direct(fd), len(data)))
        real(fd, data, offset)

    monkeypatch.setattr(_fsops, "pwrite_all", record)
    async with await fs.writer("/upload") as writer:
        await writer.write(b"d" * (3 * WRITE_BUFFER_SIZE + 5))
    # In pieces small enough that the kernel backs them with small folios (see _fsops).
    pieces = 3 * WRITE_BUFFER_SIZE // _fsops.CACHED_WRITE_PIECE
    assert writes == [(False, _fsops.CACHED_WRITE_PIECE)] * pieces + [(False, 5)]


async def test_a_refused_direct_write_falls_back_to_the_page_cache(
    direct_fs: FilesystemDriver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    writes: list[bool] = []
    real = _fsops.pwrite_all

    def refuse_direct(fd: int, data: memoryview, offset: int) -> None:
        writes.append(_is_direct(fd))
        if _is_direct(fd):
            raise OSError(errno.EINVAL, "Invalid argument")
        real(fd, data, offset)

    monkeypatch.setattr(_fsops, "pwrite_all", refuse_direct)
    content = b"".join(_ragged(3 * WRITE_BUFFER_SIZE, seed=7))
    writer = await direct_fs.writer("/upload")
    await writer.write(content)
    await writer.commit()
    assert (tmp_path / "root/upload").read_bytes() == content
    assert writes.count(True) == 1  # tried once, then the writer stopped asking


async def test_a_filesystem_without_direct_io_gets_buffered_writes(
    direct_fs: FilesystemDriver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_open = os.open

    def no_direct(path: str, flags: int, *args: int) -> int:
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", no_direct)
    content = b"".join(_ragged(2 * WRITE_BUFFER_SIZE + 1, seed=3))
    async with await direct_fs.writer("/upload") as writer:
        await writer.write(content)
    assert (tmp_path / "root/upload").read_bytes() == content


@pytest.fixture
def gated_writes(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """(started, gate): each buffer write signals ``started``, then waits for ``gate``."""
    started, gate = threading.Event(), threading.Event()
    real = _fsops.write_at

    def slow(*args: object) -> bool:
        started.set()
        gate.wait()
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_fsops, "write_at", slow)
    return started, gate


async def test_a_cancelled_write_leaves_the_descriptor_to_the_write_in_flight(
    direct_fs: FilesystemDriver,
    gated_writes: tuple[threading.Event, threading.Event],
    tmp_path: Path,
) -> None:
    started, gate = gated_writes
    writer = await direct_fs.writer("/upload")
    await writer.write(b"a" * WRITE_BUFFER_SIZE)  # submitted; the thread now waits at the gate
    await asyncio.to_thread(started.wait)
    second = asyncio.create_task(writer.write(b"b" * WRITE_BUFFER_SIZE))
    await asyncio.sleep(0.05)
    second.cancel()  # the client went away while the first buffer is still being written
    with contextlib.suppress(asyncio.CancelledError):
        await second
    closing = asyncio.create_task(writer.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # close waits for the write that still uses the descriptor
    gate.set()
    await closing
    data = (tmp_path / "root/upload").read_bytes()
    assert data[:WRITE_BUFFER_SIZE] == b"a" * WRITE_BUFFER_SIZE
    assert set(data[WRITE_BUFFER_SIZE:]) <= {ord("b")}


async def test_a_cancelled_cancel_still_removes_the_file_and_closes_it(
    direct_fs: FilesystemDriver,
    gated_writes: tuple[threading.Event, threading.Event],
    tmp_path: Path,
) -> None:
    before = _open_fds()
    started, gate = gated_writes
    writer = await direct_fs.writer("/upload")
    await writer.write(b"a" * WRITE_BUFFER_SIZE)
    await asyncio.to_thread(started.wait)
    cancelling = asyncio.create_task(writer.cancel())
    await asyncio.sleep(0.05)
    cancelling.cancel()  # the request doing the cleanup is itself torn down
    with contextlib.suppress(asyncio.CancelledError):
        await cancelling
    gate.set()
    for _ in range(200):  # the shielded cleanup finishes on its own
        if not (tmp_path / "root/upload").exists() and _open_fds() == before:
            break
        await asyncio.sleep(0.01)
    assert not (tmp_path / "root/upload").exists()
    assert _open_fds() == before


async def test_one_thread_serves_many_concurrent_operations(tmp_path: Path) -> None:
    d = FilesystemDriver(str(tmp_path), maxthreads=1)
    try:

        async def work(i: int) -> bytes:
            await d.put_content(f"/f{i}", bytes([i]) * 1000)
            async with await d.writer(f"/w{i}") as w:
                await w.write(b"w" * i)
            return await read_all(await d.reader(f"/f{i}"), 100)

        results = await asyncio.gather(*(work(i) for i in range(30)))
        assert results == [bytes([i]) * 1000 for i in range(30)]
    finally:
        await d.aclose()


async def test_cancelled_open_does_not_leak_a_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = FilesystemDriver(str(tmp_path))
    started, gate = threading.Event(), threading.Event()
    opened: list[int] = []
    real_open = _fsops.open_reader

    def slow_open(path: str, full: str, offset: int) -> int:
        started.set()
        gate.wait()
        fd = real_open(path, full, offset)
        opened.append(fd)
        return fd

    def still_open(fd: int, inode: int) -> bool:
        try:
            return os.fstat(fd).st_ino == inode
        except OSError:
            return False

    monkeypatch.setattr(_fsops, "open_reader", slow_open)
    try:
        await d.put_content("/file", b"x")
        inode = (tmp_path / "file").stat().st_ino
        baseline = _open_fds()
        task = asyncio.ensure_future(d.reader("/file"))
        await asyncio.to_thread(started.wait)
        task.cancel()  # while the open is running in its thread
        with pytest.raises(asyncio.CancelledError):
            await task
        gate.set()
        # The descriptor opened after the cancellation is closed by a later hop.
        for _ in range(500):
            if opened and not still_open(opened[0], inode):
                break
            await asyncio.sleep(0.01)
        assert opened
        assert not still_open(opened[0], inode)
        assert _open_fds() == baseline
    finally:
        gate.set()
        await d.aclose()


async def test_writes_and_deletes_of_one_directory_race_without_errors(tmp_path: Path) -> None:
    """Links are written while their directory is deleted (blob push vs delete): no write fails."""
    driver = FilesystemDriver(str(tmp_path))

    async def writer(i: int) -> None:
        for j in range(40):
            await driver.put_content(f"/r/_layers/sha256/{j % 4}/deep/link{i}", b"x")

    async def deleter() -> None:
        for _ in range(30):
            with contextlib.suppress(PathNotFound):
                await driver.delete("/r/_layers")
            await asyncio.sleep(0.003)

    await asyncio.gather(*(writer(i) for i in range(6)), deleter())
    await driver.aclose()


async def test_rewriting_one_link_while_its_tag_is_deleted_never_fails(tmp_path: Path) -> None:
    """Tag overwrites racing tag deletes: every put_content succeeds, whatever the interleaving."""
    driver = FilesystemDriver(str(tmp_path))

    async def writer(i: int) -> None:
        for _ in range(150):
            await driver.put_content("/r/tags/t1/current/link", b"%d" % i)

    async def deleter() -> None:
        for _ in range(150):
            with contextlib.suppress(PathNotFound):
                await driver.delete("/r/tags/t1")
            await asyncio.sleep(0.0005)

    await asyncio.gather(*(writer(i) for i in range(4)), deleter())
    await driver.aclose()


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The directories scanned (``_fsops.list_names`` calls), in order."""
    seen: list[str] = []
    real = _fsops.list_names

    def counting(path: str, full: str) -> list[str]:
        seen.append(path)
        return real(path, full)

    monkeypatch.setattr(_fsops, "list_names", counting)
    return seen


async def test_large_listings_are_reused_until_the_directory_changes(
    fs: FilesystemDriver, scans: list[str]
) -> None:
    names = [f"r{i:04d}" for i in range(CACHED_LISTING_MIN)]
    await asyncio.gather(*(fs.put_content(f"/big/{n}/x", b"") for n in names))
    fs._listings.settle = 0.0
    expected = [f"/big/{n}" for n in names]
    assert await fs.list("/big") == expected  # found large: to be stamped from now on
    assert await fs.list("/big") == expected  # first stamped reading: records the stamp
    assert await fs.list("/big") == expected  # second: kept
    assert await fs.list("/big") == expected
    assert len(scans) == 3
    assert await fs.list_page("/big", "r0099", 2) == ["/big/r0100", "/big/r0101"]
    assert await fs.list_pages(["/big", "/big/r0000"], 1) == [["/big/r0000"], ["/big/r0000/x"]]
    assert scans[3:] == ["/big/r0000"]  # only the small directory was scanned
    await asyncio.sleep(0.01)  # past a coarse kernel clock tick
    await fs.put_content("/big/r9999/x", b"")
    assert (await fs.list("/big"))[-1] == "/big/r9999"
    await fs.delete("/big/r0000")
    assert (await fs.list_page("/big", "", 1)) == ["/big/r0001"]
    assert len(scans) == 6


async def test_a_listing_is_not_kept_before_its_stamp_settles(
    fs: FilesystemDriver, scans: list[str]
) -> None:
    await asyncio.gather(*(fs.put_content(f"/big/r{i:04d}", b"") for i in range(300)))
    for _ in range(3):
        assert len(await fs.list("/big")) == 300
    assert len(scans) == 3  # the default settle time has not passed: every listing scans


async def test_move_makes_the_content_durable_before_publishing_it(
    fs: FilesystemDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fs.put_content("/uploads/id/data", b"blob bytes")
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(f"fsync {os.readlink(f'/proc/self/fd/{fd}')}")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append("rename")
        real_replace(src, dst)

    # _fsops calls these through the os module.
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    await fs.move("/uploads/id/data", "/blobs/ab/data")
    assert events == [
        f"fsync {fs.rootdirectory}/uploads/id/data",
        "rename",
        f"fsync {fs.rootdirectory}/blobs/ab",
    ]
    assert await fs.get_content("/blobs/ab/data") == b"blob bytes"
