"""The catalog: repository names found by walking ``repositories/`` the way Distribution does.

A page costs about one listing per repository on it, whatever the registry holds: each level is
read a page at a time from the name after ``last`` (``StorageDriver.list_page``; S3 skips there
with StartAfter, the filesystem bisects a cached listing), and the children of a page are listed
in one call (``StorageDriver.list_pages``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

from cargohold.errors import PathNotFound
from cargohold.storage import paths
from cargohold.storage.driver.base import StorageDriver

Key = tuple[str, ...]

_MAX_BATCH = 1000


async def _children(
    driver: StorageDriver, directory: str, start_after: str, batch: int, first: list[str] | None
) -> AsyncIterator[list[str]]:
    """Pages of the names of ``directory``'s children after ``start_after``, in name order.

    ``first`` is the first page when it was already listed (from the start, by ``list_pages``).
    """
    while True:
        if first is not None:
            page, first = first, None
        else:
            try:
                page = await driver.list_page(directory, start_after, batch)
            except PathNotFound:
                return
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
    first: list[str] | None = None,
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
        first = None  # listed from the start; the walk now resumes after the pivot
        if not pivot.startswith("_"):
            sub = _walk(driver, f"{directory}/{pivot}", (*key, pivot), after, batch)
            async with contextlib.aclosing(sub):
                async for repo in sub:
                    yield repo
    checked = key <= after  # only a directory after `after` may be listed itself
    async for names in _children(driver, directory, pivot, batch, first):
        if not checked:
            checked = True
            if await _is_repository(driver, directory, names, batch):
                yield key
        wanted = [name for name in names if not name.startswith("_")]
        # One call lists every child of the page: a local driver answers in one hop.
        firsts = (
            await driver.list_pages([f"{directory}/{name}" for name in wanted], batch)
            if wanted
            else []
        )
        for name, listed in zip(wanted, firsts, strict=True):
            if listed is None:
                continue  # removed since its parent was listed
            sub = _walk(driver, f"{directory}/{name}", (*key, name), after, batch, listed)
            async with contextlib.aclosing(sub):
                async for repo in sub:
                    yield repo


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
