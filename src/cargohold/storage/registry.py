"""Composes the storage services into a Registry: the one place where wrapping happens."""

from __future__ import annotations

from cargohold.errors import InvalidPath
from cargohold.storage import paths
from cargohold.storage.base import BlobDescriptorService
from cargohold.storage.blobstore import BlobStore
from cargohold.storage.cache.base import BlobDescriptorCacheProvider
from cargohold.storage.cache.cached import CachedBlobStatter, CacheStats
from cargohold.storage.catalog import catalog
from cargohold.storage.driver.base import StorageDriver, check_path
from cargohold.storage.driver.stamped import StampedCache
from cargohold.storage.linkedblobs import LinkedBlobService, LinkedBlobStatter
from cargohold.storage.manifests import Manifests
from cargohold.storage.referrers import Referrers
from cargohold.storage.tags import TagListings, Tags
from cargohold.storage.uploads import Uploads, UploadState

# Repositories whose sorted tag list is kept between requests.
TAG_LISTINGS_SIZE = 1024


class StorageRepository:
    """One repository's services, built on demand (cheap: no I/O)."""

    def __init__(self, registry: StorageRegistry, name: str) -> None:
        self.name = name
        blobs = registry.blobs
        layer_statter = LinkedBlobStatter(blobs, name, (paths.layer_link,))
        statter: BlobDescriptorService = layer_statter
        if registry.cache is not None:
            statter = CachedBlobStatter(
                registry.cache.repository_scoped(name), layer_statter, registry.cache_stats
            )
        self.blobs = LinkedBlobService(
            blobs,
            name,
            statter,
            delete_enabled=registry.delete_enabled,
            redirect=registry.redirect,
            mount_source=lambda source: LinkedBlobStatter(blobs, source, (paths.layer_link,)),
        )
        self.uploads = Uploads(blobs.driver, blobs, name, self.blobs, registry.upload_state)
        self.tags = Tags(
            blobs.driver,
            name,
            delete_enabled=registry.delete_enabled,
            listings=registry.tag_listings,
        )
        self.referrers = Referrers(blobs, name, persist=not registry.read_only)
        # Distribution 2.1.0 linked manifests into _layers too, so look there as a fallback.
        revisions = LinkedBlobStatter(blobs, name, (paths.revision_link, paths.layer_link))
        self.manifests = Manifests(
            blobs,
            name,
            revisions,
            layer_statter,
            self.tags,
            self.referrers,
            delete_enabled=registry.delete_enabled,
        )


class StorageRegistry:
    """The Registry over one driver, with an optional blob descriptor cache."""

    def __init__(
        self,
        driver: StorageDriver,
        *,
        delete_enabled: bool,
        cache: BlobDescriptorCacheProvider | None,
        redirect: bool,
        read_only: bool = False,
    ) -> None:
        self.driver = driver
        self.read_only = read_only
        self.blobs = BlobStore(driver)
        self.delete_enabled = delete_enabled
        self.cache = cache
        self.cache_stats = cache.stats if cache is not None else CacheStats()
        self.redirect = redirect
        self.upload_state = UploadState()
        self.tag_listings: TagListings = StampedCache(TAG_LISTINGS_SIZE)

    def repository(self, name: str) -> StorageRepository:
        return StorageRepository(self, name)

    async def catalog(self, n: int | None, last: str | None) -> list[str]:
        if last and not _is_path(last):
            # No stored name can look like this `last` (a client's garbage or a traversal
            # attempt), so the walk cannot seek to it: filter a full walk instead.
            after = tuple(last.split("/"))
            names = [
                x for x in await catalog(self.driver, None, None) if tuple(x.split("/")) > after
            ]
            return names if n is None else names[:n]
        return await catalog(self.driver, n, last)


def _is_path(name: str) -> bool:
    """Whether every component of ``name`` is usable as a storage path component."""
    try:
        check_path(paths.repository(name))
    except InvalidPath:
        return False
    return True


def create_registry(
    driver: StorageDriver,
    *,
    delete_enabled: bool,
    cache: BlobDescriptorCacheProvider | None,
    redirect: bool = False,
    read_only: bool = False,
) -> StorageRegistry:
    """Build the registry's storage services over ``driver``; ``read_only`` forbids derived writes."""
    return StorageRegistry(
        driver, delete_enabled=delete_enabled, cache=cache, redirect=redirect, read_only=read_only
    )
