"""The one shared storage driver test suite; each backend's test is a short subclass.

A subclass provides an async ``driver`` fixture yielding a fresh (or shared) driver::

    class TestInMemoryDriver(DriverSuite):
        @pytest.fixture
        async def driver(self) -> AsyncIterator[StorageDriver]:
            d = InMemoryDriver()
            yield d
            await d.aclose()

Every test works under its own root-level directory (the ``base`` fixture), so a backend may
share one bucket or directory between tests. New driver behaviour belongs here, not in one
backend's tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest

from cargohold.errors import InvalidOffset, InvalidPath, PathNotFound, StorageError
from cargohold.storage.driver.base import READ_CHUNK_SIZE, FileReader, StorageDriver

__all__ = ["DriverSuite"]

MiB = 1 << 20

# Each is rejected by check_path; together they cover every rule of the path grammar.
INVALID_PATHS = [
    "",
    "/",
    "//a",
    "a",
    "a/b",
    "/a//b",
    "/a/b/",
    "/..",
    "/a/..",
    "/a/../b",
    "/.",
    "/./a",
    "/a b",
    "/a\nb",
    "/a\n",
    "/a\\b",
    "/a:b",
    "/a*b",
    "/caf\u00e9",
]


def blob(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes, so failures reproduce."""
    return random.Random(seed).randbytes(size)


async def read_all(reader: FileReader, n: int = READ_CHUNK_SIZE) -> bytes:
    """Read ``reader`` to the end with ``read(n)``, checking no call returns more than ``n``."""
    parts = []
    async with reader:
        while chunk := await reader.read(n):
            assert len(chunk) <= n
            parts.append(chunk)
    return b"".join(parts)


async def walk_all(driver: StorageDriver, path: str) -> list[tuple[str, bool, int]]:
    return [(i.path, i.is_dir, i.size) async for i in driver.walk(path)]


class DriverSuite:
    """Behaviour every StorageDriver must have; subclasses supply the ``driver`` fixture."""

    # Sizes a slow backend may lower; the defaults exercise several read and write buffers.
    large_size = 8 * MiB
    stream_size = 64 * MiB
    # Whether ``stamps`` is supported (object stores have no directories to stamp).
    has_stamps = True

    @pytest.fixture
    def base(self) -> str:
        """A fresh root-level directory for one test."""
        return f"/suite-{uuid.uuid4().hex[:12]}"

    # -- whole-object round trips -----------------------------------------------------------

    async def test_put_get_round_trip(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/file", b"hello")
        assert await driver.get_content(f"{base}/file") == b"hello"

    async def test_get_many_reads_in_order_with_gaps(
        self, driver: StorageDriver, base: str
    ) -> None:
        await driver.put_content(f"{base}/many/a/link", b"first")
        await driver.put_content(f"{base}/many/c/link", b"third")
        await driver.put_content(f"{base}/many/dir/x", b"")
        got = await driver.get_many(
            [
                f"{base}/many/c/link",
                f"{base}/many/b/link",
                f"{base}/many/a/link",
                f"{base}/many/dir",
                f"{base}/nowhere/at/all",
            ]
        )
        assert got == [b"third", None, b"first", None, None]
        assert await driver.get_many([]) == []

    async def test_overwrite_replaces_whole_content(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/file", b"a much longer first value")
        await driver.put_content(f"{base}/file", b"short")
        assert await driver.get_content(f"{base}/file") == b"short"
        assert (await driver.stat(f"{base}/file")).size == 5

    async def test_empty_content(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/empty", b"")
        assert await driver.get_content(f"{base}/empty") == b""
        info = await driver.stat(f"{base}/empty")
        assert (info.size, info.is_dir) == (0, False)

    async def test_binary_content(self, driver: StorageDriver, base: str) -> None:
        content = bytes(range(256)) * 4 + b"\xff\xfe\x00\r\n\x80"
        await driver.put_content(f"{base}/bin", content)
        assert await driver.get_content(f"{base}/bin") == content

    async def test_large_content(self, driver: StorageDriver, base: str) -> None:
        content = blob(self.large_size, seed=1)
        await driver.put_content(f"{base}/large", content)
        assert await driver.get_content(f"{base}/large") == content
        assert (await driver.stat(f"{base}/large")).size == self.large_size
        assert await read_all(await driver.reader(f"{base}/large")) == content

    async def test_nested_paths_create_directories(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/a/b/c/d/e/file", b"deep")
        assert await driver.get_content(f"{base}/a/b/c/d/e/file") == b"deep"
        for directory in (base, f"{base}/a", f"{base}/a/b/c", f"{base}/a/b/c/d/e"):
            info = await driver.stat(directory)
            assert (info.path, info.is_dir, info.size) == (directory, True, 0)

    async def test_unusual_valid_names(self, driver: StorageDriver, base: str) -> None:
        names = ["...", "-", "_", ".x", "A-Z_a.z-0.9", "sha256"]
        for i, name in enumerate(names):
            await driver.put_content(f"{base}/{name}", str(i).encode())
        for i, name in enumerate(names):
            assert await driver.get_content(f"{base}/{name}") == str(i).encode()
        assert sorted(await driver.list(base)) == sorted(f"{base}/{n}" for n in names)

    async def test_paths_are_case_sensitive(self, driver: StorageDriver, base: str) -> None:
        # Tags differ by case alone (OCI distribution-spec §Pulling manifests: tag grammar).
        await driver.put_content(f"{base}/Tag", b"upper")
        await driver.put_content(f"{base}/tag", b"lower")
        assert await driver.get_content(f"{base}/Tag") == b"upper"
        assert await driver.get_content(f"{base}/tag") == b"lower"

    # -- invalid and missing paths ----------------------------------------------------------

    def _operations(
        self, driver: StorageDriver, base: str
    ) -> dict[str, Callable[[str], Awaitable[object]]]:
        async def walk(p: str) -> object:
            return [i async for i in driver.walk(p)]

        return {
            "get_content": driver.get_content,
            "put_content": lambda p: driver.put_content(p, b"x"),
            "reader": driver.reader,
            "writer": driver.writer,
            "append_writer": lambda p: driver.writer(p, append=True),
            "stat": driver.stat,
            "list": driver.list,
            "move_source": lambda p: driver.move(p, f"{base}/dest"),
            "move_dest": lambda p: driver.move(f"{base}/source", p),
            "delete": driver.delete,
            "walk": walk,
        }

    @pytest.mark.parametrize(
        "operation",
        [
            "get_content",
            "put_content",
            "reader",
            "writer",
            "append_writer",
            "stat",
            "list",
            "move_source",
            "move_dest",
            "delete",
            "walk",
        ],
    )
    async def test_invalid_paths_rejected(
        self, driver: StorageDriver, base: str, operation: str
    ) -> None:
        await driver.put_content(f"{base}/source", b"kept")
        call = self._operations(driver, base)[operation]
        for path in INVALID_PATHS:
            with pytest.raises(InvalidPath):
                await call(path)
        assert await driver.get_content(f"{base}/source") == b"kept"

    @pytest.mark.parametrize(
        "operation",
        ["get_content", "reader", "append_writer", "stat", "list", "move_source", "delete", "walk"],
    )
    async def test_missing_paths_not_found(
        self, driver: StorageDriver, base: str, operation: str
    ) -> None:
        await driver.put_content(f"{base}/file", b"x")
        call = self._operations(driver, base)[operation]
        for path in (f"{base}/missing", f"{base}/no/such/dir", f"{base}/file/child", "/nowhere"):
            with pytest.raises(PathNotFound):
                await call(path)
        with pytest.raises(PathNotFound):
            await driver.stat(f"{base}/dest")

    async def test_directory_is_not_a_file(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/dir/file", b"x")
        with pytest.raises(PathNotFound):
            await driver.get_content(f"{base}/dir")
        with pytest.raises(PathNotFound):
            await driver.reader(f"{base}/dir")
        with pytest.raises(PathNotFound):
            await driver.writer(f"{base}/dir", append=True)

    async def test_file_is_not_a_directory(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/file", b"x")
        with pytest.raises(PathNotFound):
            await driver.list(f"{base}/file")
        with pytest.raises(PathNotFound):
            await walk_all(driver, f"{base}/file")

    # -- readers ----------------------------------------------------------------------------

    @pytest.mark.parametrize(("offset", "start"), [(0, 0), (1, 1), (500, 500), (999, 999)])
    async def test_reader_at_offset(
        self, driver: StorageDriver, base: str, offset: int, start: int
    ) -> None:
        content = blob(1000, seed=2)
        await driver.put_content(f"{base}/file", content)
        assert await read_all(await driver.reader(f"{base}/file", offset)) == content[start:]

    @pytest.mark.parametrize("offset", [1000, 1001, 1 << 40])
    async def test_reader_at_or_beyond_end_is_empty(
        self, driver: StorageDriver, base: str, offset: int
    ) -> None:
        await driver.put_content(f"{base}/file", blob(1000))
        assert await read_all(await driver.reader(f"{base}/file", offset)) == b""

    async def test_reader_negative_offset(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/file", b"abc")
        with pytest.raises(InvalidOffset):
            await driver.reader(f"{base}/file", -1)

    async def test_reader_small_reads_and_iteration(self, driver: StorageDriver, base: str) -> None:
        content = blob(10_000, seed=3)
        await driver.put_content(f"{base}/file", content)
        assert await read_all(await driver.reader(f"{base}/file"), 7) == content
        async with await driver.reader(f"{base}/file", 9_000) as reader:
            assert b"".join([chunk async for chunk in reader]) == content[9_000:]

    async def test_reader_close(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/file", b"abc")
        reader = await driver.reader(f"{base}/file")
        assert await reader.read(1) == b"a"
        await reader.aclose()
        await reader.aclose()
        with pytest.raises(StorageError):
            await reader.read(1)

    # -- writers ----------------------------------------------------------------------------

    async def test_writer_creates_file_and_parents(self, driver: StorageDriver, base: str) -> None:
        writer = await driver.writer(f"{base}/up/load/data")
        assert writer.size == 0
        for part in (b"one", b"", b"two", b"three"):
            await writer.write(part)
        assert writer.size == 11
        await writer.close()
        assert await driver.get_content(f"{base}/up/load/data") == b"onetwothree"
        assert (await driver.stat(f"{base}/up/load/data")).size == 11

    async def test_writer_without_append_truncates(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/file", b"old content that is long")
        async with await driver.writer(f"{base}/file") as writer:
            assert writer.size == 0
            await writer.write(b"new")
        assert await driver.get_content(f"{base}/file") == b"new"

    async def test_writer_append_continues_across_reopen(
        self, driver: StorageDriver, base: str
    ) -> None:
        path, expected = f"{base}/upload/data", b""
        async with await driver.writer(path) as writer:
            await writer.write(b"chunk0-")
            expected += b"chunk0-"
        for i in range(1, 4):
            writer = await driver.writer(path, append=True)
            assert writer.size == len(expected)
            part = blob(1000 * i, seed=i)
            await writer.write(part)
            expected += part
            assert writer.size == len(expected)
            await writer.close()
            assert (await driver.stat(path)).size == len(expected)
        assert await driver.get_content(path) == expected

    async def test_writer_reserve_is_only_a_hint(self, driver: StorageDriver, base: str) -> None:
        # Fewer bytes than announced, then more on an append: exactly what was written is kept.
        first, second = blob(3 << 20, seed=1), blob(1 << 20, seed=2)
        writer = await driver.writer(f"{base}/upload")
        await writer.reserve(10 << 20)
        await writer.write(first)
        await writer.close()
        writer = await driver.writer(f"{base}/upload", append=True)
        await writer.reserve(1000)
        await writer.write(second)
        await writer.commit()
        assert (await driver.stat(f"{base}/upload")).size == len(first) + len(second)
        assert await driver.get_content(f"{base}/upload") == first + second

    async def test_writer_many_small_writes(self, driver: StorageDriver, base: str) -> None:
        parts = [blob(997, seed=i) for i in range(3000)]  # ~3 MiB crosses write buffers
        async with await driver.writer(f"{base}/file") as writer:
            for part in parts:
                await writer.write(part)
        assert await driver.get_content(f"{base}/file") == b"".join(parts)

    async def test_writer_commit(self, driver: StorageDriver, base: str) -> None:
        writer = await driver.writer(f"{base}/file")
        await writer.write(b"committed")
        await writer.commit()
        await writer.close()  # closing a committed writer is harmless
        assert await driver.get_content(f"{base}/file") == b"committed"
        with pytest.raises(StorageError):
            await writer.write(b"more")

    async def test_writer_closed_rejects_writes_and_commit(
        self, driver: StorageDriver, base: str
    ) -> None:
        writer = await driver.writer(f"{base}/file")
        await writer.write(b"abc")
        await writer.close()
        await writer.close()
        with pytest.raises(StorageError):
            await writer.write(b"more")
        with pytest.raises(StorageError):
            await writer.commit()
        assert await driver.get_content(f"{base}/file") == b"abc"

    async def test_writer_cancel_removes(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/sibling", b"stays")
        writer = await driver.writer(f"{base}/new")
        await writer.write(b"discard me")
        await writer.cancel()
        with pytest.raises(PathNotFound):
            await driver.stat(f"{base}/new")
        await driver.put_content(f"{base}/existing", b"old")
        writer = await driver.writer(f"{base}/existing", append=True)
        await writer.write(b"more")
        await writer.cancel()
        await writer.cancel()
        with pytest.raises(PathNotFound):
            await driver.get_content(f"{base}/existing")
        assert await driver.list(base) == [f"{base}/sibling"]

    async def test_stream_through_writer_and_reader(self, driver: StorageDriver, base: str) -> None:
        # Odd-sized chunks, each tagged with its index, catch lost, repeated or reordered data.
        block, chunk_size = blob(MiB + 7, seed=4), MiB + 7
        written, size = hashlib.sha256(), 0
        async with await driver.writer(f"{base}/stream") as writer:
            index = 0
            while size < self.stream_size:
                n = min(chunk_size, self.stream_size - size)
                chunk = (index.to_bytes(8, "big") + block)[:n]
                await writer.write(chunk)
                written.update(chunk)
                size, index = size + n, index + 1
            assert writer.size == self.stream_size
        assert (await driver.stat(f"{base}/stream")).size == self.stream_size
        read = hashlib.sha256()
        async with await driver.reader(f"{base}/stream") as reader:
            async for chunk in reader:
                assert 0 < len(chunk) <= READ_CHUNK_SIZE
                read.update(chunk)
        assert read.hexdigest() == written.hexdigest()

    # -- metadata and listing ---------------------------------------------------------------

    async def test_stat_file(self, driver: StorageDriver, base: str) -> None:
        before = time.time()
        await driver.put_content(f"{base}/file", b"12345")
        after = time.time()
        info = await driver.stat(f"{base}/file")
        assert (info.path, info.size, info.is_dir) == (f"{base}/file", 5, False)
        # Backends' clocks and timestamp granularity differ a little from ours.
        assert before - 5 <= info.mod_time <= after + 5

    async def test_stat_directory(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/dir/file", b"12345")
        info = await driver.stat(f"{base}/dir")
        assert (info.path, info.size, info.is_dir) == (f"{base}/dir", 0, True)

    async def test_list_direct_children_only(self, driver: StorageDriver, base: str) -> None:
        for path in ("f1", "f2", "d1/g1", "d1/sub/g2", "d2/deep/er/g3"):
            await driver.put_content(f"{base}/{path}", b"x")
        assert sorted(await driver.list(base)) == [f"{base}/{n}" for n in ("d1", "d2", "f1", "f2")]
        assert sorted(await driver.list(f"{base}/d1")) == [f"{base}/d1/g1", f"{base}/d1/sub"]
        assert await driver.list(f"{base}/d1/sub") == [f"{base}/d1/sub/g2"]
        assert await driver.list(f"{base}/d2") == [f"{base}/d2/deep"]
        for child in await driver.list(base):
            assert (await driver.stat(child)).path == child

    async def test_list_pages_lists_each_directory(self, driver: StorageDriver, base: str) -> None:
        for path in ("a/1", "a/2", "a/3", "b/sub/x", "file"):
            await driver.put_content(f"{base}/{path}", b"x")
        dirs = [f"{base}/a", f"{base}/missing", f"{base}/b", f"{base}/file"]
        assert await driver.list_pages(dirs) == [
            [f"{base}/a/1", f"{base}/a/2", f"{base}/a/3"],
            None,
            [f"{base}/b/sub"],
            None,
        ]
        assert await driver.list_pages(dirs[:1], 2) == [[f"{base}/a/1", f"{base}/a/2"]]
        assert await driver.list_pages([]) == []

    async def test_stamps_change_when_entries_come_and_go(
        self, driver: StorageDriver, base: str
    ) -> None:
        await driver.put_content(f"{base}/d/one", b"x")
        await driver.put_content(f"{base}/quiet/one", b"x")
        before = await driver.stamps([f"{base}/d", f"{base}/quiet", f"{base}/missing"])
        if not self.has_stamps:
            assert before is None  # no directories to stamp: the caches built on them stay off
            return
        assert before is not None
        assert before[2] is None
        assert before[0] is not None
        await asyncio.sleep(0.01)  # past a coarse kernel clock tick
        await driver.put_content(f"{base}/d/two", b"x")
        added = await driver.stamps([f"{base}/d", f"{base}/quiet"])
        assert added is not None
        assert added[0] != before[0]
        assert added[1] == before[1]
        await asyncio.sleep(0.01)
        await driver.delete(f"{base}/d/one")
        removed = await driver.stamps([f"{base}/d"])
        assert removed is not None
        assert removed[0] not in (before[0], added[0])

    # -- move -------------------------------------------------------------------------------

    async def test_move_replaces_destination(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/src", b"new value")
        await driver.put_content(f"{base}/dst", b"old value, longer")
        await driver.move(f"{base}/src", f"{base}/dst")
        assert await driver.get_content(f"{base}/dst") == b"new value"
        with pytest.raises(PathNotFound):
            await driver.stat(f"{base}/src")
        assert await driver.list(base) == [f"{base}/dst"]

    async def test_move_creates_parents(self, driver: StorageDriver, base: str) -> None:
        content = blob(MiB + 3, seed=5)
        await driver.put_content(f"{base}/uploads/id/data", content)
        await driver.move(f"{base}/uploads/id/data", f"{base}/blobs/sha256/ab/abcd/data")
        assert await driver.get_content(f"{base}/blobs/sha256/ab/abcd/data") == content
        assert (await driver.stat(f"{base}/blobs/sha256/ab")).is_dir

    async def test_move_missing_source_leaves_destination(
        self, driver: StorageDriver, base: str
    ) -> None:
        await driver.put_content(f"{base}/dst", b"untouched")
        with pytest.raises(PathNotFound):
            await driver.move(f"{base}/missing", f"{base}/dst")
        assert await driver.get_content(f"{base}/dst") == b"untouched"

    async def test_move_onto_itself(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/file", b"same")
        await driver.move(f"{base}/file", f"{base}/file")
        assert await driver.get_content(f"{base}/file") == b"same"

    # -- delete -----------------------------------------------------------------------------

    async def test_delete_file(self, driver: StorageDriver, base: str) -> None:
        await driver.put_content(f"{base}/a", b"1")
        await driver.put_content(f"{base}/b", b"2")
        await driver.delete(f"{base}/a")
        with pytest.raises(PathNotFound):
            await driver.get_content(f"{base}/a")
        assert await driver.list(base) == [f"{base}/b"]
        with pytest.raises(PathNotFound):
            await driver.delete(f"{base}/a")

    async def test_delete_directory_recursively(self, driver: StorageDriver, base: str) -> None:
        doomed = ["d/f", "d/e/f", "d/e/g/h"]
        for path in [*doomed, "keep/f", "dd/f"]:
            await driver.put_content(f"{base}/{path}", b"x")
        await driver.delete(f"{base}/d")
        for path in ["d", "d/e", *doomed]:
            with pytest.raises(PathNotFound):
                await driver.stat(f"{base}/{path}")
        assert sorted(await driver.list(base)) == [f"{base}/dd", f"{base}/keep"]
        await driver.put_content(f"{base}/d/f", b"again")
        assert await driver.get_content(f"{base}/d/f") == b"again"

    async def test_delete_last_child_keeps_parent_consistent(
        self, driver: StorageDriver, base: str
    ) -> None:
        # A backend may keep the empty directory or drop it; stat and list must agree.
        await driver.put_content(f"{base}/dir/only", b"x")
        await driver.delete(f"{base}/dir/only")
        try:
            children = await driver.list(f"{base}/dir")
        except PathNotFound:
            with pytest.raises(PathNotFound):
                await driver.stat(f"{base}/dir")
        else:
            assert children == []
            assert (await driver.stat(f"{base}/dir")).is_dir

    # -- walk -------------------------------------------------------------------------------

    async def test_walk_depth_first_sorted(self, driver: StorageDriver, base: str) -> None:
        for path, size in [("b", 1), ("a/y/z", 2), ("a/x", 3), ("c/d", 4), ("B", 5), ("a-b", 6)]:
            await driver.put_content(f"{base}/{path}", b"x" * size)
        expected = [
            ("B", False, 5),
            ("a", True, 0),
            ("a/x", False, 3),
            ("a/y", True, 0),
            ("a/y/z", False, 2),
            ("a-b", False, 6),
            ("b", False, 1),
            ("c", True, 0),
            ("c/d", False, 4),
        ]
        assert await walk_all(driver, base) == [(f"{base}/{p}", d, s) for p, d, s in expected]
        assert await walk_all(driver, f"{base}/a/y") == [(f"{base}/a/y/z", False, 2)]

    # -- concurrency ------------------------------------------------------------------------

    async def test_concurrent_put_same_path(self, driver: StorageDriver, base: str) -> None:
        values = [bytes([i]) * (256 * 1024 + i) for i in range(32)]
        await asyncio.gather(*(driver.put_content(f"{base}/file", v) for v in values))
        assert await driver.get_content(f"{base}/file") in values
        assert await driver.list(base) == [f"{base}/file"]

    async def test_concurrent_puts_create_shared_parents(
        self, driver: StorageDriver, base: str
    ) -> None:
        paths = [f"{base}/new/parent/f{i}" for i in range(40)]
        await asyncio.gather(*(driver.put_content(p, p.encode()) for p in paths))
        for p in paths:
            assert await driver.get_content(p) == p.encode()

    async def test_readers_never_see_torn_values(self, driver: StorageDriver, base: str) -> None:
        path = f"{base}/file"
        values = [b"a" * 300_000, b"b" * 200_001]
        await driver.put_content(path, values[0])
        done = asyncio.Event()

        async def overwrite() -> None:
            try:
                for i in range(40):
                    await driver.put_content(path, values[i % 2])
            finally:
                done.set()

        async def check(streaming: bool) -> int:
            checks = 0
            while not done.is_set() or checks == 0:
                if streaming:
                    got = await read_all(await driver.reader(path), 64 * 1024)
                else:
                    got = await driver.get_content(path)
                assert got in values, f"torn value of {len(got)} bytes"
                checks += 1
                await asyncio.sleep(0)
            return checks

        overwriting = asyncio.ensure_future(overwrite())
        counts = await asyncio.gather(*(check(s) for s in (False, True) * 3))
        await overwriting
        assert all(n > 0 for n in counts)

    async def test_concurrent_writers_different_paths(
        self, driver: StorageDriver, base: str
    ) -> None:
        async def upload(i: int) -> bytes:
            parts = [blob(10_000 + i, seed=i * 10 + k) for k in range(5)]
            writer = await driver.writer(f"{base}/uploads/{i}/data")
            for part in parts:
                await writer.write(part)
                await asyncio.sleep(0)
            await writer.commit()
            return b"".join(parts)

        expected = await asyncio.gather(*(upload(i) for i in range(40)))
        for i, content in enumerate(expected):
            assert await driver.get_content(f"{base}/uploads/{i}/data") == content

    async def test_concurrent_deletes_of_one_tree(self, driver: StorageDriver, base: str) -> None:
        for i in range(20):
            await driver.put_content(f"{base}/tree/d{i % 4}/f{i}", b"x")
        results = await asyncio.gather(
            *(driver.delete(f"{base}/tree") for _ in range(8)), return_exceptions=True
        )
        assert None in results
        assert all(r is None or isinstance(r, PathNotFound) for r in results), results
        with pytest.raises(PathNotFound):
            await driver.stat(f"{base}/tree")
