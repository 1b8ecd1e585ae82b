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
from cargohold.storage.links import parse_link, read_link, write_link
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

    async def _content(self, digest: Digest) -> bytes:
        """The manifest's bytes, if the repository holds it as a manifest; ManifestUnknown.

        A revision link proves it. Only a ``_layers`` link (Distribution 2.1.0 linked manifests
        there) also names every layer, so then the content must parse as a manifest: a layer
        must never be served, or deleted, as one.
        """
        content = await self._revision_content(digest)
        if content is not None:
            return content
        try:
            await self.revisions.stat(digest)
            content = await self.blobs.get(digest)
        except BlobUnknown:
            raise self._unknown(digest) from None
        revision = paths.revision_link(self.repository, digest)
        if await read_link(self.blobs.driver, revision) != digest:
            try:
                parse_manifest(content, None, digest.algorithm)
            except ManifestInvalid:
                raise self._unknown(digest) from None
        return content

    async def _revision_content(self, digest: Digest) -> bytes | None:
        """The content of a manifest proven by its revision link, read together in one call."""
        link, content = await self.blobs.driver.get_many(
            [paths.revision_link(self.repository, digest), paths.blob_data(digest)]
        )
        return content if parse_link(link) == digest else None

    async def get_tagged(self, tag: str) -> StoredManifest:
        """The manifest ``tag`` points at, in two reads: the tag's link, then revision and content.

        As ``get(tags.resolve(tag))``: a tag counts only if its manifest revision exists.
        """
        digest = await self.tags.current(tag)
        content = await self._revision_content(digest) if digest is not None else None
        if digest is None or content is None:
            raise ManifestUnknown(f"manifest tagged {tag!r} unknown", {"tag": tag})
        return StoredManifest(Descriptor(digest, len(content), stored_media_type(content)), content)

    async def stat(self, digest: Digest) -> Descriptor:
        content = await self._content(digest)
        return Descriptor(digest, len(content), stored_media_type(content))

    async def get(self, digest: Digest) -> StoredManifest:
        content = await self._content(digest)
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
        await self._settle(manifest.digest, tags)
        subject = manifest.subject.digest if manifest.subject is not None else None
        return Descriptor(manifest.digest, manifest.size, manifest.media_type), subject

    async def _settle(self, digest: Digest, tags: list[str]) -> None:
        """Re-apply a push that a concurrent delete of the same digest undid part-way.

        The push has not been acknowledged yet, so it may take effect after that delete: if the
        revision link is gone, it and the tags are written again (the delete already removed
        them). A push that finds its revision in place is acknowledged as is.
        """
        revision = paths.revision_link(self.repository, digest)
        if await read_link(self.blobs.driver, revision) == digest:
            return
        await write_link(self.blobs.driver, revision, digest)
        for tag in tags:
            await self.tags.tag(tag, digest)

    async def _check_references(self, manifest: Manifest) -> None:
        """Every referenced blob (image) or child manifest (index) must be in this repository.

        Checked against storage, never the cache alone: a stale cache must not let a manifest
        that points at deleted content in.
        """
        sem = asyncio.Semaphore(_VALIDATION_CONCURRENCY)

        async def size_of(digest: Digest) -> int:
            if manifest.is_index:
                # A child must be a manifest of this repository, not any blob linked into it.
                try:
                    return len(await self._content(digest))
                except ManifestUnknown:
                    raise BlobUnknown(f"manifest {digest} unknown") from None
            return (await self.layers.stat(digest)).size

        async def check(ref: Descriptor) -> tuple[Descriptor, int | None]:
            async with sem:
                try:
                    return ref, await size_of(ref.digest)
                except BlobUnknown:
                    return ref, None

        found = await asyncio.gather(*map(check, manifest.references))
        for ref, size in found:
            # A descriptor's size is what clients allocate and verify against (OCI image-spec
            # §Descriptor): one that lies about the content it names makes the manifest invalid.
            if size is not None and size != ref.size:
                raise ManifestInvalid(
                    f"descriptor for {ref.digest} says {ref.size} bytes but the content has {size}",
                    {"digest": str(ref.digest), "size": ref.size, "actual": size},
                )
        missing = [ref for ref, size in found if size is None]
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
        await self._content(digest)
        # Tags first: a crash part-way leaves an untagged manifest, never a tag to nothing.
        await _remove_tags(self.tags, await self.tags.lookup(digest))
        try:
            manifest = parse_manifest(await self.blobs.get(digest), None, digest.algorithm)
        except (BlobUnknown, ManifestInvalid):
            manifest = None
        if manifest is not None and manifest.subject is not None:
            await self.referrers.remove(manifest.subject.digest, digest)
        await self.revisions.clear(digest)
        # A push tagging this digest may have landed its tag after the first pass. Left behind,
        # that tag would be hidden (no revision) but come back with any later push of the same
        # content. A push that has since restored the revision takes effect after this delete,
        # so its tags stay.
        revision = paths.revision_link(self.repository, digest)
        if await read_link(self.blobs.driver, revision) != digest:
            await _remove_tags(self.tags, await self.tags.pointing_at(digest))


async def _remove_tags(tags: Tags, names: Iterable[str]) -> None:
    for name in names:
        await tags.remove(name)
