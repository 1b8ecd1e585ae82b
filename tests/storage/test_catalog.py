"""Catalog walk: Distribution's repository discovery, ordering and pagination."""

from __future__ import annotations

from cargohold.storage import paths
from cargohold.storage.registry import StorageRegistry
from tests.storage.conftest import push_blob, push_image


async def test_catalog_lists_repositories_with_manifests_in_order(
    registry: StorageRegistry,
) -> None:
    names = ["b", "a", "a/b", "a-b", "a/b/c", "z/y"]
    for name in names:
        await push_image(registry, name, name.encode(), ["t"])
    await push_blob(registry, "layers-only", b"x")  # no _manifests: not a repository yet
    expected = ["a", "a/b", "a/b/c", "a-b", "b", "z/y"]
    assert await registry.catalog(None, None) == expected
    assert await registry.catalog(2, None) == expected[:2]
    assert await registry.catalog(2, "a/b") == ["a/b/c", "a-b"]
    assert await registry.catalog(10, "a/b/c") == ["a-b", "b", "z/y"]
    assert await registry.catalog(10, "zzz") == []
    assert await registry.catalog(0, None) == []


async def test_catalog_ignores_internal_directories(registry: StorageRegistry) -> None:
    await push_image(registry, "repo", b"r", ["t"])
    await registry.driver.put_content(f"{paths.extension('repo')}/_manifests/x", b"")
    assert await registry.catalog(None, None) == ["repo"]
