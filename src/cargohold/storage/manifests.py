"""Manifests of one repository: byte-exact blobs in the global store, linked as revisions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable

from cargohold.errors import (
    BlobUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    Unsupported,
)
from cargohold.manifest import OCI_INDEX, OCI_MANIFEST, Descriptor, Manifest, parse_manifest
from cargohold.reference import CANONICAL, Digest, validate_tag
from cargohold.storage import paths
from cargohold.storage.base import BlobStatter, StoredManifest
from cargohold.storage.blobstore import BlobStore
from cargohold.storage.linkedblobs import LinkedBlobStatter
from cargohold.storage.links import write_link
from cargohold.storage.referrers import Referrers
from cargohold.storage.tags import Tags

_VALIDATION_CONCURRENCY = 16

_DOCKER_V1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"


def stored_media_type(content: bytes) -> str:
    """The media type a stored manifest declares (or implies by shape), without full validation."""
    try:
        doc = json.loads(content)
    except (ValueError, RecursionError):
        return OCI_MANIFEST
    if not isinstance(doc, dict):
        return OCI_MANIFEST
    media_type = doc.get("mediaType")
    if isinstance(media_type, str) and media_type:
        return media_type
    if doc.get("schemaVersion") == 1:
        return _DOCKER_V1
    return OCI_INDEX if isinstance(doc.get("manifests"), list) else OCI_MANIFEST


class Manifests:
    """The ManifestService of one repository."""

    def __init__(
        self,
        blobs: BlobStore,
        repository: str,
        revisions: LinkedBlobStatter,
        layers: BlobStatter,
        tags: Tags,
        referrers: Referrers,
        *,
        delete_enabled: bool,
    ) -> None:
        self.blobs = blobs
        self.repository = repository
        self.revisions = revisions
        self.layers = layers
        self.tags = tags
        self.referrers = referrers
        self.delete_enabled = delete_enabled

    def _unknown(self, digest: Digest) -> ManifestUnknown:
        return ManifestUnknown(
            f"manifest {digest} unknown to repository {self.repository}", {"digest": str(digest)}
        )

    async def stat(self, digest: Digest) -> Descriptor:
        try:
            desc = await self.revisions.stat(digest)
        except BlobUnknown:
            raise self._unknown(digest) from None
        content = await self.blobs.get(digest)
        return Descriptor(digest, desc.size, stored_media_type(content))

    async def get(self, digest: Digest) -> StoredManifest:
        try:
            await self.revisions.stat(digest)
            content = await self.blobs.get(digest)
        except BlobUnknown:
            raise self._unknown(digest) from None
        return StoredManifest(Descriptor(digest, len(content), stored_media_type(content)), content)

    async def put(
        self, content: bytes, content_type: str | None, digest: Digest | None, tags: list[str]
    ) -> tuple[Descriptor, Digest | None]:
        for tag in tags:
            validate_tag(tag)
        manifest = parse_manifest(content, content_type, digest.algorithm if digest else CANONICAL)
        if digest is not None and manifest.digest != digest:
            raise DigestInvalid(
                f"manifest digest {manifest.digest} does not match {digest}",
                {"digest": str(digest)},
            )
        await self._check_references(manifest)
        await self.blobs.put(manifest.digest, content)
        await write_link(
            self.blobs.driver,
            paths.revision_link(self.repository, manifest.digest),
            manifest.digest,
        )
        if manifest.subject is not None:
            await self.referrers.add(manifest.subject.digest, manifest.digest)
        for tag in tags:
            await self.tags.tag(tag, manifest.digest)
        subject = manifest.subject.digest if manifest.subject is not None else None
        return Descriptor(manifest.digest, manifest.size, manifest.media_type), subject

    async def _check_references(self, manifest: Manifest) -> None:
        """Every referenced blob (image) or child manifest (index) must be in this repository.

        Checked against storage, never the cache alone: a stale cache must not let a manifest
        that points at deleted content in.
        """
        statter: BlobStatter = self.revisions if manifest.is_index else self.layers
        sem = asyncio.Semaphore(_VALIDATION_CONCURRENCY)

        async def check(ref: Descriptor) -> Descriptor | None:
            async with sem:
                try:
                    await statter.stat(ref.digest)
                except BlobUnknown:
                    return ref
                return None

        missing = [r for r in await asyncio.gather(*map(check, manifest.references)) if r]
        if missing:
            kind = "manifest" if manifest.is_index else "blob"
            raise ManifestBlobUnknown(
                f"manifest references {kind} {missing[0].digest} unknown to repository "
                f"{self.repository}",
                {"digest": str(missing[0].digest)},
            )

    async def delete(self, digest: Digest) -> None:
        if not self.delete_enabled:
            raise Unsupported("manifest deletion is disabled (storage.delete.enabled)")
        try:
            await self.revisions.stat(digest)
        except BlobUnknown:
            raise self._unknown(digest) from None
        # Tags first: a crash part-way leaves an untagged manifest, never a tag to nothing.
        await _remove_tags(self.tags, await self.tags.lookup(digest))
        try:
            manifest = parse_manifest(await self.blobs.get(digest), None, digest.algorithm)
        except (BlobUnknown, ManifestInvalid):
            manifest = None
        if manifest is not None and manifest.subject is not None:
            await self.referrers.remove(manifest.subject.digest, digest)
        await self.revisions.clear(digest)


async def _remove_tags(tags: Tags, names: Iterable[str]) -> None:
    for name in names:
        await tags.remove(name)
