"""The referrers index: cargohold's layout extension mapping a subject to the manifests naming it.

Distribution's layout has no place for it, so it lives under ``_cargohold/`` (which Distribution
ignores) and is rebuilt from the repository's manifests the first time a repository is queried
without the ``referrers-indexed`` marker, e.g. a root written by Distribution.
"""

from __future__ import annotations

import asyncio
import builtins

from cargohold.errors import BlobUnknown, ManifestInvalid, PathNotFound
from cargohold.manifest import Descriptor, parse_manifest
from cargohold.reference import Digest
from cargohold.storage import paths
from cargohold.storage.blobstore import BlobStore
from cargohold.storage.links import delete_path, list_digests, read_link, write_link

_READ_CONCURRENCY = 16


class Referrers:
    """The ReferrerService of one repository."""

    def __init__(self, blobs: BlobStore, repository: str, *, persist: bool = True) -> None:
        self.blobs = blobs
        # False in read-only mode: an unindexed repository is then scanned on every query.
        self.persist = persist
        self.driver = blobs.driver
        self.repository = repository

    async def add(self, subject: Digest, referrer: Digest) -> None:
        await write_link(
            self.driver, paths.referrer_link(self.repository, subject, referrer), referrer
        )

    async def remove(self, subject: Digest, referrer: Digest) -> None:
        link = paths.referrer_link(self.repository, subject, referrer)
        await delete_path(self.driver, link.rsplit("/", 1)[0])

    async def list(self, subject: Digest, artifact_type: str | None = None) -> list[Descriptor]:
        digests = await self._referrers(subject)
        sem = asyncio.Semaphore(_READ_CONCURRENCY)

        async def describe(digest: Digest) -> Descriptor | None:
            async with sem:
                if await read_link(self.driver, paths.revision_link(self.repository, digest)) != (
                    digest
                ):
                    return None  # the referrer was deleted by a writer that kept no index
                try:
                    content = await self.blobs.get(digest)
                    return parse_manifest(content, None, digest.algorithm).descriptor()
                except (BlobUnknown, ManifestInvalid):
                    return None

        found = [d for d in await asyncio.gather(*map(describe, digests)) if d is not None]
        if artifact_type is not None:
            found = [d for d in found if d.artifact_type == artifact_type]
        return sorted(found, key=lambda d: str(d.digest))

    async def _referrers(self, subject: Digest) -> builtins.list[Digest]:
        try:
            await self.driver.stat(paths.referrers_marker(self.repository))
        except PathNotFound:
            if not self.persist:
                return (await self.scan()).get(subject, [])
            await self.rebuild()
        return await list_digests(self.driver, paths.referrers(self.repository, subject))

    async def scan(self) -> dict[Digest, builtins.list[Digest]]:
        """Derive subject -> referrers from every manifest revision, without writing."""
        found: dict[Digest, builtins.list[Digest]] = {}
        for digest in await list_digests(self.driver, paths.revisions(self.repository)):
            try:
                manifest = parse_manifest(await self.blobs.get(digest), None, digest.algorithm)
            except (BlobUnknown, ManifestInvalid):
                continue
            if manifest.subject is not None:
                found.setdefault(manifest.subject.digest, []).append(digest)
        return found

    async def rebuild(self) -> int:
        """Re-derive the index from every manifest revision; return how many links it wrote."""
        found = await self.scan()
        if not found and not await list_digests(self.driver, paths.revisions(self.repository)):
            return 0  # nothing to index; writing a marker would create the repository
        for subject, referrers in found.items():
            for referrer in referrers:
                await self.add(subject, referrer)
        await self.driver.put_content(paths.referrers_marker(self.repository), b"1")
        return sum(map(len, found.values()))
