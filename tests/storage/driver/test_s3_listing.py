"""Paged listings (``list_page``) on every driver, and a catalog page on S3 costing its page.

S3 lists keys in byte order, where a directory ``a/`` comes after ``a-b`` and ``a.c``; names
here are chosen so that every such inversion falls on a page boundary somewhere.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import AioSession

from cargohold.errors import NameUnknown
from cargohold.reference import Digest
from cargohold.storage import paths
from cargohold.storage.catalog import catalog
from cargohold.storage.driver.base import StorageDriver
from cargohold.storage.driver.filesystem import FilesystemDriver
from cargohold.storage.driver.inmemory import InMemoryDriver
from cargohold.storage.driver.s3 import S3Driver
from cargohold.storage.links import write_link
from cargohold.storage.tags import Tags
from cargohold.testing.seaweedfs import SeaweedFS
from tests.storage.driver.conftest import make_driver

DIRS = ["a", "a-b", "a-b-c", "a.c", "a0", "b", "b.x.y", "c-"]
FILES = ["a-", "a.", "a_f", "bb"]


@pytest.fixture(params=["inmemory", "filesystem", "s3"])
async def driver(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    seaweedfs: SeaweedFS,
    session: AioSession,
    root: str,
) -> AsyncIterator[StorageDriver]:
    d: StorageDriver
    if request.param == "inmemory":
        d = InMemoryDriver()
    elif request.param == "filesystem":
        d = FilesystemDriver(str(tmp_path))
    else:
        d = make_driver(seaweedfs, session, root)
    yield d
    await d.aclose()


async def test_list_page_is_list_from_a_name(driver: StorageDriver) -> None:
    for name in DIRS:
        await driver.put_content(f"/l/{name}/f", b"x")
    for name in FILES:
        await driver.put_content(f"/l/{name}", b"x")
    writer = await driver.writer("/l/a-c")  # on S3 an in-progress file: a sidecar key
    await writer.close()
    everything = await driver.list("/l")
    assert [p.rsplit("/", 1)[1] for p in everything] == sorted([*DIRS, *FILES, "a-c"])
    for start in ["", "a", "a-", "a-b", "a-c", "a.", "a0", "b", "b.x", "bb", "zz"]:
        after = [p for p in everything if p.rsplit("/", 1)[1] > start]
        assert await driver.list_page("/l", start) == after
        for limit in (1, 2, 3, 5):
            assert await driver.list_page("/l", start, limit) == after[:limit], (start, limit)
    assert await driver.list_page("/l", "zz", 3) == []
    with pytest.raises(Exception, match="not found"):
        await driver.list_page("/missing", "a", 3)


async def test_catalog_pages_agree_on_every_driver(driver: StorageDriver) -> None:
    names = ["a", "a/b", "a/b/c", "a.c", "a0", "b", "b/x", "b-c/d", "z/y"]
    for name in names:
        await driver.put_content(paths.tag_current_link(name, "t"), b"sha256:" + b"0" * 64)
    await driver.put_content(f"{paths.repository('a-b')}/_layers/x", b"")  # no _manifests
    expected = sorted(names, key=lambda n: n.split("/"))  # component-wise, as Distribution's walk
    assert await catalog(driver, None, None) == expected
    for n in (1, 2, 3):
        got, last = [], None
        while page := await catalog(driver, n, last):
            got += page
            last = page[-1]
        assert got == expected, n
    assert await catalog(driver, 2, "a/b/c") == ["a.c", "a0"]
    assert await catalog(driver, 2, "a/zz") == ["a.c", "a0"]


async def test_a_catalog_page_costs_its_page_not_the_registry(
    seaweedfs: SeaweedFS, session: AioSession, root: str
) -> None:
    s3: S3Driver = make_driver(seaweedfs, session, root)
    try:
        await _seed(s3, [f"ns/r{i:04d}" for i in range(1200)])  # more than one listing page
        calls: collections.Counter[str] = collections.Counter()
        client = await s3.connection.client()

        def count(model: Any, **_: Any) -> None:
            calls[model.name] += 1

        def entries(parsed: dict[str, Any], **_: Any) -> None:
            calls["entries"] += parsed.get("KeyCount", 0)

        client.meta.events.register("before-call.s3", count)
        client.meta.events.register("after-call.s3.ListObjectsV2", entries)
        assert await catalog(s3, 10, "ns/r0600") == [f"ns/r{i:04d}" for i in range(601, 611)]
        # The pivot's own directory, one page of the namespace from the pivot on, then one
        # listing per repository: the 1,200-entry level is never read whole.
        assert calls["ListObjectsV2"] == 12
        assert calls["entries"] < 60
    finally:
        await s3.aclose()


async def test_tag_listing_agrees_on_every_driver(driver: StorageDriver) -> None:
    repo, (one, two, three) = "team/app", (Digest.from_bytes(b) for b in (b"1", b"2", b"3"))
    for digest in (one, two):
        await write_link(driver, paths.revision_link(repo, digest), digest)
    tags = Tags(driver, repo, delete_enabled=True)
    await tags.tag("plain", one)
    await tags.tag("moved", one)
    await tags.tag("moved", two)
    await tags.tag("dangling", three)  # its manifest revision does not exist
    await write_link(driver, paths.tag_index_link(repo, "half", one), one)  # died before current
    assert await tags.targets() == {"moved": two, "plain": one}
    assert await tags.list() == ["moved", "plain"]
    assert await tags.lookup(two) == ["moved"]
    with pytest.raises(NameUnknown):
        await Tags(driver, "no/such", delete_enabled=True).list()
    await write_link(driver, paths.revision_link("bare", one), one)
    assert await Tags(driver, "bare", delete_enabled=True).list() == []


async def test_tag_listing_on_s3_reads_no_links(
    seaweedfs: SeaweedFS, session: AioSession, root: str
) -> None:
    s3: S3Driver = make_driver(seaweedfs, session, root)
    try:
        digest = Digest.from_bytes(b"manifest")
        tags = Tags(s3, "many", delete_enabled=True)
        await write_link(s3, paths.revision_link("many", digest), digest)
        semaphore = asyncio.Semaphore(64)

        async def tag(name: str) -> None:
            async with semaphore:
                await tags.tag(name, digest)

        await asyncio.gather(*(tag(f"v{i:03d}") for i in range(300)))
        calls = await _count(s3)
        assert await tags.list() == [f"v{i:03d}" for i in range(300)]
        # 600 link keys in one listing page, the revisions in another: no link is read.
        assert dict(calls) == {"ListObjectsV2": 2}
    finally:
        await s3.aclose()


async def _count(driver: S3Driver) -> collections.Counter[str]:
    calls: collections.Counter[str] = collections.Counter()
    client = await driver.connection.client()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.s3", count)
    return calls


async def _seed(driver: StorageDriver, names: list[str]) -> None:
    semaphore = asyncio.Semaphore(64)

    async def put(name: str) -> None:
        async with semaphore:
            await driver.put_content(paths.tag_current_link(name, "t"), b"x")

    await asyncio.gather(*(put(n) for n in names))
