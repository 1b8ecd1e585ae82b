"""Interleavings the stress test can only hit by chance, forced deterministically: a driver
that runs another operation at an exact point of the one under test."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import pytest

from cargohold.errors import ManifestUnknown
from cargohold.storage import paths
from cargohold.storage.driver.inmemory import InMemoryDriver
from cargohold.storage.purge import purge_uploads
from cargohold.storage.registry import StorageRegistry, create_registry
from tests.storage.conftest import OCI_MANIFEST, push_image

Hook = Callable[[], Awaitable[None]]
REPO = "race/repo"


class HookedDriver(InMemoryDriver):
    """Runs a hook once, right before the first ``put_content``/``delete`` of a chosen path."""

    def __init__(self) -> None:
        super().__init__()
        self.before_put: dict[str, Hook] = {}
        self.before_delete: dict[str, Hook] = {}

    async def put_content(self, path: str, content: bytes) -> None:
        hook = self.before_put.pop(path, None)
        if hook is not None:
            await hook()
        await super().put_content(path, content)

    async def delete(self, path: str) -> None:
        hook = self.before_delete.pop(path, None)
        if hook is not None:
            await hook()
        await super().delete(path)


@pytest.fixture
def driver() -> HookedDriver:
    return HookedDriver()


@pytest.fixture
def registry(driver: HookedDriver) -> StorageRegistry:
    return create_registry(driver, delete_enabled=True, cache=None)


async def test_tag_landing_during_a_manifest_delete_does_not_come_back(
    driver: HookedDriver, registry: StorageRegistry
) -> None:
    """A push tagging D lands its tag after the delete's first tag pass: the delete still removes
    it, so a later push of the same content without tags does not resurrect it."""
    repo = registry.repository(REPO)
    digest, content = await push_image(registry, REPO, b"a")

    async def tag_lands() -> None:
        await repo.tags.tag("sneaky", digest)

    revision_dir = paths.revision_link(REPO, digest).rsplit("/", 1)[0]
    driver.before_delete[revision_dir] = tag_lands
    await repo.manifests.delete(digest)
    assert await repo.tags.pointing_at(digest) == []
    await repo.manifests.put(content, OCI_MANIFEST, None, [])
    with pytest.raises(ManifestUnknown):
        await repo.tags.resolve("sneaky")
    assert "sneaky" not in await repo.tags.list()


async def test_push_undone_by_a_concurrent_delete_is_reapplied(
    driver: HookedDriver, registry: StorageRegistry
) -> None:
    """A delete of D that runs entirely between a push's tag write and its acknowledgement:
    the push takes effect after it, so D and its tag exist when the push returns."""
    repo = registry.repository(REPO)
    digest, content = await push_image(registry, REPO, b"b")

    async def delete_runs() -> None:
        await repo.manifests.delete(digest)

    driver.before_put[paths.tag_current_link(REPO, "v1")] = delete_runs
    # The hook fires before the tag write; the delete then removes the revision, and the push's
    # own tag write follows, leaving a tag whose revision is gone until the push settles.
    await repo.manifests.put(content, OCI_MANIFEST, None, ["v1"])
    assert await repo.tags.resolve("v1") == digest
    assert (await repo.manifests.get(digest)).content == content
    assert await repo.tags.list() == ["v1"]


async def test_push_not_racing_anything_writes_each_link_once(
    driver: HookedDriver, registry: StorageRegistry
) -> None:
    """The settle step reads, it does not rewrite, when nothing interfered."""
    digest, _ = await push_image(registry, REPO, b"c", tags=["v1"])
    written: list[str] = []
    original = driver.put_content

    async def counting(path: str, content: bytes) -> None:
        written.append(path)
        await original(path, content)

    driver.put_content = counting  # type: ignore[method-assign]
    repo = registry.repository(REPO)
    await repo.manifests.put((await repo.manifests.get(digest)).content, OCI_MANIFEST, None, ["v2"])
    assert written.count(paths.revision_link(REPO, digest)) == 1
    assert written.count(paths.tag_current_link(REPO, "v2")) == 1


async def test_purging_spares_a_session_still_being_created(driver: HookedDriver) -> None:
    """Between creating an upload's directory and writing its ``startedat`` and ``data``, the
    purger finds neither: the session is young, not infinitely old."""
    upload = paths.upload_dir(REPO, "5f1a0000-0000-4000-8000-000000000000")
    await driver.put_content(f"{upload}/in-progress", b"")  # the directory, nothing else yet
    purged = await purge_uploads(driver, time.time() - 3600, dry_run=False)
    assert purged == []
    assert (await driver.stat(upload)).is_dir
