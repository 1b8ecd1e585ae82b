"""The in-memory provider against the shared cache suite, plus its LRU bound."""

from __future__ import annotations

import pytest

from cargohold.errors import BlobUnknown
from cargohold.storage.cache.base import BlobDescriptorCacheProvider
from cargohold.storage.cache.factory import create_cache_provider
from cargohold.storage.cache.inmemory import DEFAULT_SIZE, InMemoryBlobDescriptorCache
from cargohold.testing.cache_suite import BlobDescriptorCacheSuite, descriptor


class TestInMemoryCache(BlobDescriptorCacheSuite):
    @pytest.fixture
    def provider(self) -> BlobDescriptorCacheProvider:
        return InMemoryBlobDescriptorCache(1000)


async def test_least_recently_used_entries_are_evicted_at_the_bound() -> None:
    cache = InMemoryBlobDescriptorCache(3)
    scoped = cache.repository_scoped("repo")
    a, b, c, d = (descriptor(s) for s in "abcd")
    for desc in (a, b, c):
        await scoped.set_descriptor(desc.digest, desc)
    assert await scoped.stat(a.digest) == a  # a is now the most recently used
    await scoped.set_descriptor(d.digest, d)
    assert len(cache) == 3
    with pytest.raises(BlobUnknown):
        await cache.stat(b.digest)
    with pytest.raises(BlobUnknown):
        await scoped.stat(b.digest)
    for desc in (a, c, d):
        assert await scoped.stat(desc.digest) == desc


async def test_memberships_are_bounded_too() -> None:
    cache = InMemoryBlobDescriptorCache(2)
    desc = descriptor("shared")
    await cache.set_descriptor(desc.digest, desc)
    for repo in ("one", "two", "three"):
        await cache.repository_scoped(repo).set_descriptor(desc.digest, desc)
    with pytest.raises(BlobUnknown):
        await cache.repository_scoped("one").stat(desc.digest)
    assert await cache.repository_scoped("three").stat(desc.digest) == desc


@pytest.mark.parametrize(("size", "bound"), [(7, 7), (None, DEFAULT_SIZE)])
async def test_size_comes_from_blobdescriptorsize(size: int | None, bound: int) -> None:
    provider = (
        create_cache_provider("inmemory", size) if size else create_cache_provider("inmemory")
    )
    assert isinstance(provider, InMemoryBlobDescriptorCache)
    blobs = [descriptor(str(i)) for i in range(bound + 1)]
    for desc in blobs:
        await provider.set_descriptor(desc.digest, desc)
    assert len(provider) == bound == (size or 10000)
    with pytest.raises(BlobUnknown):
        await provider.stat(blobs[0].digest)
    assert await provider.stat(blobs[-1].digest) == blobs[-1]


@pytest.mark.parametrize("size", [0, -1])
def test_size_must_be_positive(size: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        InMemoryBlobDescriptorCache(size)
