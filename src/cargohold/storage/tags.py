"""Tags of one repository: ``_manifests/tags/<tag>/current/link`` plus an index of past targets."""

from __future__ import annotations

import asyncio
import builtins

from cargohold.errors import ManifestUnknown, NameUnknown, PathNotFound, Unsupported
from cargohold.reference import Digest, validate_tag
from cargohold.storage import paths
from cargohold.storage.driver.base import StorageDriver
from cargohold.storage.links import delete_path, read_link, write_link

# Bounded fan-out when resolving many tags, so one listing cannot flood the driver.
_RESOLVE_CONCURRENCY = 32


class Tags:
    """The TagService of one repository; a tag only counts if its manifest revision exists."""

    def __init__(self, driver: StorageDriver, repository: str, *, delete_enabled: bool) -> None:
        self.driver = driver
        self.repository = repository
        self.delete_enabled = delete_enabled

    async def _target(self, tag: str) -> Digest | None:
        digest = await read_link(self.driver, paths.tag_current_link(self.repository, tag))
        if digest is None:
            return None
        revision = await read_link(self.driver, paths.revision_link(self.repository, digest))
        return digest if revision == digest else None

    async def resolve(self, tag: str) -> Digest:
        validate_tag(tag)
        digest = await self._target(tag)
        if digest is None:
            raise ManifestUnknown(f"manifest tagged {tag!r} unknown", {"tag": tag})
        return digest

    async def tag(self, tag: str, digest: Digest) -> None:
        """Point ``tag`` at ``digest``: index link first, so the history never misses a target."""
        await write_link(self.driver, paths.tag_index_link(self.repository, tag, digest), digest)
        await write_link(self.driver, paths.tag_current_link(self.repository, tag), digest)

    async def _names(self) -> list[str]:
        try:
            children = await self.driver.list(paths.tags(self.repository))
        except PathNotFound:
            try:
                await self.driver.stat(paths.repository(self.repository))
            except PathNotFound:
                raise NameUnknown(
                    f"repository {self.repository!r} not known to registry",
                    {"name": self.repository},
                ) from None
            return []
        return [child.rsplit("/", 1)[1] for child in children]

    async def targets(self) -> dict[str, Digest]:
        """Map every resolvable tag to its digest; dangling leftovers of crashes are skipped."""
        names = await self._names()
        sem = asyncio.Semaphore(_RESOLVE_CONCURRENCY)

        async def one(name: str) -> Digest | None:
            async with sem:
                return await self._target(name)

        digests = await asyncio.gather(*(one(n) for n in names))
        return {n: d for n, d in zip(names, digests, strict=True) if d is not None}

    async def list(self) -> list[str]:
        return sorted((await self.targets()).keys())

    async def lookup(self, digest: Digest) -> builtins.list[str]:
        """Tags currently pointing at ``digest``."""
        return sorted(n for n, d in (await self.targets()).items() if d == digest)

    async def pointing_at(self, digest: Digest) -> builtins.list[str]:
        """Tags whose current link names ``digest``, whether or not its revision exists."""
        names = await self._names()
        sem = asyncio.Semaphore(_RESOLVE_CONCURRENCY)

        async def current(name: str) -> Digest | None:
            async with sem:
                return await read_link(self.driver, paths.tag_current_link(self.repository, name))

        found = await asyncio.gather(*(current(n) for n in names))
        return sorted(n for n, d in zip(names, found, strict=True) if d == digest)

    async def delete(self, tag: str) -> None:
        if not self.delete_enabled:
            raise Unsupported("tag deletion is disabled (storage.delete.enabled)")
        validate_tag(tag)
        if not await delete_path(self.driver, paths.tag_dir(self.repository, tag)):
            raise ManifestUnknown(f"tag {tag!r} unknown", {"tag": tag})

    async def remove(self, tag: str) -> None:
        """Remove a tag unconditionally (used by manifest deletion)."""
        await delete_path(self.driver, paths.tag_dir(self.repository, tag))
