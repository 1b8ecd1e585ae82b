"""The catalog: repository names found by walking ``repositories/`` the way Distribution does.

A page costs about one listing per repository on it, whatever the registry holds: each level is
read a page at a time from the name after ``last`` (``StorageDriver.list_page``; S3 skips there
with StartAfter), and the listings of a page's children run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable

from cargohold.errors import PathNotFound
from cargohold.storage import paths
from cargohold.storage.driver.base import StorageDriver

Key = tuple[str, ...]

# Children listings in flight at once while a page of a level is walked.
_PREFETCH = 16
_MAX_BATCH = 1000


async def _children(
    driver: StorageDriver,
    directory: str,
    start_after: str,
    batch: int,
    first: Awaitable[list[str]] | None,
) -> AsyncIterator[list[str]]:
    """Pages of the names of ``directory``'s children after ``start_after``, in name order."""
    while True:
        try:
            page = (
                await first
                if first is not None
                else await driver.list_page(directory, start_after, batch)
            )
        except PathNotFound:
            return
        first = None
        names = [child.rsplit("/", 1)[1] for child in page]
        if names:
            yield names
        if len(page) < batch:
            return
        start_after = names[-1]


async def _is_repository(
    driver: StorageDriver, directory: str, first: list[str], batch: int
) -> bool:
    if "_manifests" in first:
        return True
    if len(first) < batch or first[-1] > "_manifests":
        return False  # the first page would have held it
    try:
        return (await driver.stat(f"{directory}/_manifests")).is_dir
    except PathNotFound:
        return False


async def _walk(
    driver: StorageDriver,
    directory: str,
    key: Key,
    after: Key,
    batch: int,
    first: Awaitable[list[str]] | None = None,
) -> AsyncGenerator[Key, None]:
    """Yield repository keys under ``directory`` in path order, skipping those up to ``after``.

    A directory holding ``_manifests`` is a repository; other ``_``-prefixed directories are a
    repository's internals and are not descended into (as in Distribution's catalog walk).
    """
    depth = len(key)
    # On the way to `after`, names before its component hold only earlier repositories; the
    # component itself may hold later ones (nested names), so it is walked first.
    pivot = after[depth] if key == after[:depth] and depth < len(after) else ""
    if pivot:
        if first is not None:
            with contextlib.suppress(PathNotFound):
                await first
            first = None
        if not pivot.startswith("_"):
            sub = _walk(driver, f"{directory}/{pivot}", (*key, pivot), after, batch)
            async with contextlib.aclosing(sub):
                async for repo in sub:
                    yield repo
    checked = key <= after  # only a directory after `after` may be listed itself
    semaphore = asyncio.Semaphore(_PREFETCH)

    async def listing(name: str) -> list[str]:
        async with semaphore:
            return await driver.list_page(f"{directory}/{name}", "", batch)

    async for names in _children(driver, directory, pivot, batch, first):
        if not checked:
            checked = True
            if await _is_repository(driver, directory, names, batch):
                yield key
        wanted = [name for name in names if not name.startswith("_")]
        tasks = {name: asyncio.ensure_future(listing(name)) for name in wanted}
        try:
            for name in wanted:
                sub = _walk(driver, f"{directory}/{name}", (*key, name), after, batch, tasks[name])
                async with contextlib.aclosing(sub):
                    async for repo in sub:
                        yield repo
        finally:
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)


async def catalog(driver: StorageDriver, n: int | None, last: str | None) -> list[str]:
    """Up to ``n`` repository names sorting after ``last`` (all when ``n`` is None).

    Names compare component-wise ("a/b" before "a-b"), which is the order of a sorted walk.
    """
    out: list[str] = []
    if n is not None and n <= 0:
        return out
    after: Key = tuple(last.split("/")) if last else ()
    batch = _MAX_BATCH if n is None else min(n, _MAX_BATCH)
    walk = _walk(driver, paths.REPOSITORIES, (), after, batch)
    async with contextlib.aclosing(walk):
        async for key in walk:
            out.append("/".join(key))
            if n is not None and len(out) >= n:
                break
    return out
