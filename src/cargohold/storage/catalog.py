"""The catalog: repository names found by walking ``repositories/`` the way Distribution does."""

from __future__ import annotations

from collections.abc import AsyncIterator

from cargohold.errors import PathNotFound
from cargohold.storage import paths
from cargohold.storage.driver.base import StorageDriver

Key = tuple[str, ...]


async def _walk(driver: StorageDriver, directory: str, key: Key, after: Key) -> AsyncIterator[Key]:
    """Yield repository keys under ``directory`` in path order, pruning subtrees before ``after``.

    A directory holding ``_manifests`` is a repository; other ``_``-prefixed directories are a
    repository's internals and are not descended into (as in Distribution's catalog walk).
    """
    try:
        children = sorted(c.rsplit("/", 1)[1] for c in await driver.list(directory))
    except PathNotFound:
        return
    if key and "_manifests" in children and key > after:
        yield key
    for name in children:
        child = (*key, name)
        # Everything below `child` sorts after `child` itself; skip it if it all precedes `after`.
        if name.startswith("_") or child < after[: len(child)]:
            continue
        async for repo in _walk(driver, f"{directory}/{name}", child, after):
            yield repo


async def catalog(driver: StorageDriver, n: int | None, last: str | None) -> list[str]:
    """Up to ``n`` repository names sorting after ``last`` (all when ``n`` is None).

    Names compare component-wise ("a/b" before "a-b"), which is the order of a sorted walk.
    """
    out: list[str] = []
    if n is not None and n <= 0:
        return out
    after: Key = tuple(last.split("/")) if last else ()
    async for key in _walk(driver, paths.REPOSITORIES, (), after):
        out.append("/".join(key))
        if n is not None and len(out) >= n:
            break
    return out
