"""Linked blob service: repository scoping, mount, delete and cache coherence."""

from __future__ import annotations

import pytest

from cargohold.errors import BlobUnknown, ManifestBlobUnknown, Unsupported
from cargohold.reference import Digest
from cargohold.storage.cache.inmemory import InMemoryBlobDescriptorCache
from cargohold.storage.registry import StorageRegistry, create_registry
from tests.storage.conftest import OCI_MANIFEST, image_manifest, push_blob


async def test_blob_is_visible_only_in_its_repository(registry: StorageRegistry) -> None:
    digest = await push_blob(registry, "one", b"data")
    assert (await registry.repository("one").blobs.stat(digest)).size == 4
    with pytest.raises(BlobUnknown):
        await registry.repository("two").blobs.stat(digest)
    with pytest.raises(BlobUnknown):
        await registry.repository("two").blobs.open(digest)


async def test_mount_from_source_and_without_source(registry: StorageRegistry) -> None:
    digest = await push_blob(registry, "src", b"mounted")
    desc = await registry.repository("dst").blobs.mount(digest, "src")
    assert desc.size == 7
    assert (await registry.repository("dst").blobs.stat(digest)).size == 7
    assert (await registry.repository("third").blobs.mount(digest, None)).size == 7
    with pytest.raises(BlobUnknown):
        await registry.repository("x").blobs.mount(digest, "nothere")
    with pytest.raises(BlobUnknown):
        await registry.repository("x").blobs.mount(Digest.from_bytes(b"absent"), None)


async def test_delete_unlinks_and_clears_cache(registry: StorageRegistry) -> None:
    digest = await push_blob(registry, "r", b"to delete")
    blobs = registry.repository("r").blobs
    await blobs.stat(digest)  # warm the cache
    await blobs.delete(digest)
    with pytest.raises(BlobUnknown):
        await blobs.stat(digest)
    with pytest.raises(BlobUnknown):
        await blobs.delete(digest)


async def test_delete_disabled(registry: StorageRegistry) -> None:
    digest = await push_blob(registry, "r", b"keep")
    ro = create_registry(registry.driver, delete_enabled=False, cache=None)
    with pytest.raises(Unsupported):
        await ro.repository("r").blobs.delete(digest)


async def test_stale_cache_never_validates_a_manifest(registry: StorageRegistry) -> None:
    """A cache that still believes in a deleted blob must not let a manifest referencing it in."""
    cache = InMemoryBlobDescriptorCache(100)
    reg = create_registry(registry.driver, delete_enabled=True, cache=cache)
    config, layer = b"{}", b"layer"
    await push_blob(reg, "r", config)
    layer_digest = await push_blob(reg, "r", layer)
    await reg.repository("r").blobs.stat(layer_digest)
    # Unlink behind the cache's back (as GC or another replica without the cache would).
    other = create_registry(registry.driver, delete_enabled=True, cache=None)
    await other.repository("r").blobs.delete(layer_digest)
    # Precondition: the cache is stale, so the checks below are meaningful.
    assert (await reg.repository("r").blobs.stat(layer_digest)).size == 5
    with pytest.raises(ManifestBlobUnknown):
        await reg.repository("r").manifests.put(
            image_manifest(config, [layer]), OCI_MANIFEST, None, []
        )
    # Mount checks storage too.
    with pytest.raises(BlobUnknown):
        await reg.repository("elsewhere").blobs.mount(layer_digest, "r")


async def test_repush_after_delete_is_really_stored(registry: StorageRegistry) -> None:
    digest = await push_blob(registry, "r", b"again")
    await registry.repository("r").blobs.delete(digest)
    assert await push_blob(registry, "r", b"again") == digest
    async with await registry.repository("r").blobs.open(digest) as reader:
        assert await reader.read() == b"again"
