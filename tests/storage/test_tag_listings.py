"""Tag lists kept between requests: reused only while nothing they derive from has changed.

Each test lets stamps settle at once (``settle = 0``) and counts the full resolutions, then
changes storage the ways another worker or process could, and checks the next list sees it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence

import pytest

from cargohold.storage import paths
from cargohold.storage.links import write_link
from cargohold.storage.registry import StorageRegistry, create_registry
from cargohold.storage.tags import Tags
from tests.storage.conftest import push_image


@pytest.fixture
def resolutions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Repository names, one per full resolution of a tag list."""
    seen: list[str] = []
    real = Tags.targets

    async def counting(self: Tags) -> dict[str, object]:
        seen.append(self.repository)
        return await real(self)  # type: ignore[return-value]

    monkeypatch.setattr(Tags, "targets", counting)
    return seen


async def settled(registry: StorageRegistry, repo: str) -> list[str]:
    """List twice (the first reading only records the stamps), return the kept list."""
    registry.tag_listings.settle = 0.0
    await registry.repository(repo).tags.list()
    return await registry.repository(repo).tags.list()


def other_process(registry: StorageRegistry) -> StorageRegistry:
    """A second registry on the same storage with its own caches, like another worker."""
    return create_registry(registry.driver, delete_enabled=True, cache=None)


async def tick() -> None:
    await asyncio.sleep(0.01)  # past a coarse kernel clock tick, so a change moves the stamp


async def test_a_settled_list_is_served_without_resolving(
    registry: StorageRegistry, resolutions: list[str]
) -> None:
    await push_image(registry, "r", b"a", ["v1", "v2"])
    assert await settled(registry, "r") == ["v1", "v2"]
    assert len(resolutions) == 2
    for _ in range(5):
        assert await registry.repository("r").tags.list() == ["v1", "v2"]
    assert len(resolutions) == 2


async def test_changes_made_here_are_seen_at_once(
    registry: StorageRegistry, resolutions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = await push_image(registry, "r", b"a", ["v1"])

    async def frozen(dirs: Sequence[str]) -> list[Hashable]:
        return ["same tick"] * len(dirs)

    # Changes within one tick of the clock leave the stamps as they were.
    monkeypatch.setattr(registry.driver, "stamps", frozen)
    assert await settled(registry, "r") == ["v1"]
    await push_image(registry, "r", b"b", ["v2"])
    assert await registry.repository("r").tags.list() == ["v1", "v2"]
    await registry.repository("r").tags.delete("v1")
    assert await registry.repository("r").tags.list() == ["v2"]
    await registry.repository("r").manifests.delete(a)
    assert await registry.repository("r").tags.list() == ["v2"]


async def test_changes_made_elsewhere_are_seen(
    registry: StorageRegistry, resolutions: list[str]
) -> None:
    a, _ = await push_image(registry, "r", b"a", ["v1"])
    b, _ = await push_image(registry, "r", b"b", ["v2"])
    assert await settled(registry, "r") == ["v1", "v2"]
    other = other_process(registry)
    await tick()
    await other.repository("r").tags.tag("new", a)
    assert await registry.repository("r").tags.list() == ["new", "v1", "v2"]
    await tick()
    await other.repository("r").tags.delete("v1")
    assert await registry.repository("r").tags.list() == ["new", "v2"]
    await tick()
    await other.repository("r").manifests.delete(b)
    assert await registry.repository("r").tags.list() == ["new"]


async def test_a_revision_removed_behind_its_tags_hides_them(
    registry: StorageRegistry, resolutions: list[str]
) -> None:
    a, _ = await push_image(registry, "r", b"a", ["v1"])
    await push_image(registry, "r", b"b", ["v2"])
    assert await settled(registry, "r") == ["v1", "v2"]
    await tick()
    # Only the revision goes (a crash, or a foreign tool): the tag now dangles.
    await registry.driver.delete(paths.revision_link("r", a).rsplit("/", 1)[0])
    assert await registry.repository("r").tags.list() == ["v2"]
    await tick()
    await write_link(registry.driver, paths.revision_link("r", a), a)
    assert await registry.repository("r").tags.list() == ["v1", "v2"]


async def test_lists_are_kept_per_repository(
    registry: StorageRegistry, resolutions: list[str]
) -> None:
    await push_image(registry, "one", b"a", ["x"])
    await push_image(registry, "two", b"b", ["y"])
    assert await settled(registry, "one") == ["x"]
    assert await settled(registry, "two") == ["y"]
    await tick()
    await other_process(registry).repository("two").tags.delete("y")
    assert await registry.repository("one").tags.list() == ["x"]
    assert await registry.repository("two").tags.list() == []
    assert resolutions.count("one") == 2
