"""The one shared blob descriptor cache suite (CNCF Distribution's ``cachecheck``).

A backend's test is a subclass providing a ``provider`` fixture that yields an *empty* provider::

    class TestInMemoryCache(BlobDescriptorCacheSuite):
        @pytest.fixture
        def provider(self) -> BlobDescriptorCacheProvider:
            return InMemoryBlobDescriptorCache(1000)

New cache behaviour belongs here, so every backend gets it. Failure semantics (errors versus
misses) are the statter's and the backends' own fault tests' concern: every answer here is
either a descriptor or BlobUnknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable

import pytest

from cargohold.errors import BlobUnknown, NameInvalid
from cargohold.manifest import Descriptor
from cargohold.reference import Digest
from cargohold.storage.base import BlobStatter
from cargohold.storage.cache.base import BlobDescriptorCacheProvider

__all__ = ["LAYER", "BlobDescriptorCacheSuite", "descriptor"]

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"
OCTET = "application/octet-stream"


def descriptor(seed: str, media_type: str = LAYER, *, algorithm: str = "sha256") -> Descriptor:
    """A descriptor of a blob derived from ``seed`` (size = len(seed) + 1)."""
    data = seed.encode() + b"\n"
    return Descriptor(Digest.from_bytes(data, algorithm), len(data), media_type)


async def assert_unknown(service: BlobStatter, digest: Digest) -> None:
    with pytest.raises(BlobUnknown):
        await service.stat(digest)


class BlobDescriptorCacheSuite:
    """Contract tests for a ``BlobDescriptorCacheProvider``; subclasses supply ``provider``."""

    async def test_empty_cache_misses(self, provider: BlobDescriptorCacheProvider) -> None:
        d = descriptor("empty")
        await assert_unknown(provider, d.digest)
        await assert_unknown(provider.repository_scoped("foo/bar"), d.digest)

    async def test_scoped_set_is_visible_scoped_and_globally(
        self, provider: BlobDescriptorCacheProvider
    ) -> None:
        d = descriptor("set")
        scoped = provider.repository_scoped("foo/bar")
        await scoped.set_descriptor(d.digest, d)
        assert await scoped.stat(d.digest) == d
        assert await provider.stat(d.digest) == d
        # A fresh scope object over the same name sees the same membership.
        assert await provider.repository_scoped("foo/bar").stat(d.digest) == d

    async def test_membership_is_per_repository(
        self, provider: BlobDescriptorCacheProvider
    ) -> None:
        d = descriptor("member")
        await provider.repository_scoped("a/b").set_descriptor(d.digest, d)
        await assert_unknown(provider.repository_scoped("a"), d.digest)
        await assert_unknown(provider.repository_scoped("a/b/c"), d.digest)
        await assert_unknown(provider.repository_scoped("other"), d.digest)

    async def test_global_set_grants_no_membership(
        self, provider: BlobDescriptorCacheProvider
    ) -> None:
        d = descriptor("global only")
        await provider.set_descriptor(d.digest, d)
        assert await provider.stat(d.digest) == d
        await assert_unknown(provider.repository_scoped("foo/bar"), d.digest)

    async def test_media_type_is_overridden_per_repository(
        self, provider: BlobDescriptorCacheProvider
    ) -> None:
        d = descriptor("typed", OCTET)
        as_json = Descriptor(d.digest, d.size, "application/json")
        first, second = provider.repository_scoped("first"), provider.repository_scoped("second")
        await first.set_descriptor(d.digest, d)
        await second.set_descriptor(d.digest, as_json)
        assert await first.stat(d.digest) == d
        assert await second.stat(d.digest) == as_json
        # Globally the first media type recorded stays (CNCF Distribution's cachecheck).
        assert await provider.stat(d.digest) == d
        # Re-recording in a repository changes that repository only.
        await first.set_descriptor(d.digest, as_json)
        assert await first.stat(d.digest) == as_json
        assert await provider.stat(d.digest) == d

    async def test_global_media_type_is_the_first_recorded(
        self, provider: BlobDescriptorCacheProvider
    ) -> None:
        d = descriptor("first wins", CONFIG)
        await provider.set_descriptor(d.digest, d)
        await provider.set_descriptor(d.digest, Descriptor(d.digest, d.size, OCTET))
        assert await provider.stat(d.digest) == d

    async def test_set_is_idempotent(self, provider: BlobDescriptorCacheProvider) -> None:
        d = descriptor("twice")
        scoped = provider.repository_scoped("foo")
        for _ in range(3):
            await scoped.set_descriptor(d.digest, d)
        assert await scoped.stat(d.digest) == d
        await scoped.clear(d.digest)
        await assert_unknown(scoped, d.digest)

    async def test_scoped_clear_forgets_membership_only(
        self, provider: BlobDescriptorCacheProvider
    ) -> None:
        d = descriptor("clear")
        mine, theirs = provider.repository_scoped("mine"), provider.repository_scoped("theirs")
        await mine.set_descriptor(d.digest, d)
        await theirs.set_descriptor(d.digest, d)
        await mine.clear(d.digest)
        await assert_unknown(mine, d.digest)
        assert await theirs.stat(d.digest) == d
        assert await provider.stat(d.digest) == d

    async def test_clear_of_unknown_raises_blob_unknown(
        self, provider: BlobDescriptorCacheProvider
    ) -> None:
        d = descriptor("never set")
        with pytest.raises(BlobUnknown):
            await provider.repository_scoped("foo").clear(d.digest)
        with pytest.raises(BlobUnknown):
            await provider.clear(d.digest)
        # Known globally but not in this repository is still unknown to the repository.
        await provider.set_descriptor(d.digest, d)
        with pytest.raises(BlobUnknown):
            await provider.repository_scoped("foo").clear(d.digest)
        # A second clear finds nothing left.
        await provider.clear(d.digest)
        with pytest.raises(BlobUnknown):
            await provider.clear(d.digest)

    async def test_global_clear_misses_in_every_repository(
        self, provider: BlobDescriptorCacheProvider
    ) -> None:
        d = descriptor("global clear")
        await provider.repository_scoped("one").set_descriptor(d.digest, d)
        await provider.repository_scoped("two").set_descriptor(d.digest, d)
        await provider.clear(d.digest)
        await assert_unknown(provider, d.digest)
        await assert_unknown(provider.repository_scoped("one"), d.digest)
        await assert_unknown(provider.repository_scoped("two"), d.digest)

    async def test_set_after_clear_is_served_again(
        self, provider: BlobDescriptorCacheProvider
    ) -> None:
        d = descriptor("again")
        scoped = provider.repository_scoped("foo")
        await scoped.set_descriptor(d.digest, d)
        await scoped.clear(d.digest)
        await provider.clear(d.digest)
        await scoped.set_descriptor(d.digest, d)
        assert await scoped.stat(d.digest) == d
        assert await provider.stat(d.digest) == d

    @pytest.mark.parametrize(
        "bad",
        [
            pytest.param(lambda d: descriptor("another"), id="other-digest"),
            pytest.param(lambda d: Descriptor(d.digest, -1, LAYER), id="negative-size"),
            pytest.param(lambda d: Descriptor(d.digest, d.size, ""), id="no-media-type"),
        ],
    )
    async def test_invalid_descriptors_are_rejected(
        self, provider: BlobDescriptorCacheProvider, bad: Callable[[Descriptor], Descriptor]
    ) -> None:
        d = descriptor("invalid")
        wrong = bad(d)
        scoped = provider.repository_scoped("foo")
        with pytest.raises(ValueError, match=r"descriptor|media type|size"):
            await scoped.set_descriptor(d.digest, wrong)
        with pytest.raises(ValueError, match=r"descriptor|media type|size"):
            await provider.set_descriptor(d.digest, wrong)
        await assert_unknown(provider, d.digest)
        await assert_unknown(scoped, d.digest)

    @pytest.mark.parametrize("name", ["", "Upper", "a//b", "/a", "a/", "x" * 256])
    async def test_invalid_repository_names_are_rejected(
        self, provider: BlobDescriptorCacheProvider, name: str
    ) -> None:
        with pytest.raises(NameInvalid):
            provider.repository_scoped(name)

    async def test_only_digest_size_and_media_type_are_kept(
        self, provider: BlobDescriptorCacheProvider
    ) -> None:
        d = descriptor("big", algorithm="sha512")
        rich = Descriptor(
            d.digest, 5 * 2**40, LAYER, annotations={"a": "b"}, urls=("https://example.com/x",)
        )
        scoped = provider.repository_scoped("foo")
        await scoped.set_descriptor(d.digest, rich)
        got = await scoped.stat(d.digest)
        assert (got.digest, got.size, got.media_type) == (d.digest, 5 * 2**40, LAYER)
        assert (got.artifact_type, got.annotations, got.urls, got.platform) == (
            None,
            None,
            None,
            None,
        )

    async def test_concurrent_writers_and_readers_agree(
        self, provider: BlobDescriptorCacheProvider
    ) -> None:
        repos = [f"repo{i}" for i in range(4)]
        blobs = [descriptor(f"concurrent {i}") for i in range(25)]
        # Each repository records its own media type, so a crossed answer would show.
        expected = {
            (r, b.digest): Descriptor(b.digest, b.size, f"x/{r}") for r in repos for b in blobs
        }
        work = list(expected)
        random.Random(7).shuffle(work)

        async def writer(repo: str, digest: Digest) -> None:
            await provider.repository_scoped(repo).set_descriptor(digest, expected[repo, digest])

        async def reader(repo: str, digest: Digest) -> None:
            scoped = provider.repository_scoped(repo)
            for _ in range(3):
                with contextlib.suppress(BlobUnknown):  # not written yet
                    assert await scoped.stat(digest) == expected[repo, digest]
                await asyncio.sleep(0)

        await asyncio.gather(*(f(r, d) for r, d in work for f in (writer, reader)))
        results = await asyncio.gather(
            *(provider.repository_scoped(r).stat(d) for r, d in expected)
        )
        assert results == list(expected.values())
        # Concurrent clears of half the repositories leave the other half intact.
        await asyncio.gather(
            *(provider.repository_scoped(r).clear(d) for r, d in expected if r in repos[:2])
        )
        for (repo, digest), want in expected.items():
            if repo in repos[:2]:
                await assert_unknown(provider.repository_scoped(repo), digest)
            else:
                assert await provider.repository_scoped(repo).stat(digest) == want
