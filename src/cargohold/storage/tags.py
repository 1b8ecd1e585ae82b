"""Tags of one repository: ``_manifests/tags/<tag>/current/link`` plus an index of past targets."""

from __future__ import annotations

import asyncio
import builtins
import contextlib

from cargohold.errors import ManifestUnknown, NameUnknown, PathNotFound, Unsupported
from cargohold.reference import ALGORITHMS, Digest, validate_tag
from cargohold.storage import paths
from cargohold.storage.driver.base import StorageDriver
from cargohold.storage.driver.stamped import StampedCache
from cargohold.storage.links import delete_path, parse_link, read_link, write_link

# Bounded fan-out when resolving many tags, so one listing cannot flood the driver.
_RESOLVE_CONCURRENCY = 32

#: Sorted tag lists per repository, shared by a registry's Tags services.
TagListings = StampedCache[str, "list[str]"]


class Tags:
    """The TagService of one repository; a tag only counts if its manifest revision exists."""

    def __init__(
        self,
        driver: StorageDriver,
        repository: str,
        *,
        delete_enabled: bool,
        listings: TagListings | None = None,
    ) -> None:
        self.driver = driver
        self.repository = repository
        self.delete_enabled = delete_enabled
        self.listings = listings

    async def current(self, tag: str) -> Digest | None:
        """The digest ``tag``'s current link names, unchecked: the caller proves the revision."""
        validate_tag(tag)
        return await read_link(self.driver, paths.tag_current_link(self.repository, tag))

    async def resolve(self, tag: str) -> Digest:
        digest = await self.current(tag)
        if digest is not None:
            revision = await read_link(self.driver, paths.revision_link(self.repository, digest))
            if revision == digest:
                return digest
        raise ManifestUnknown(f"manifest tagged {tag!r} unknown", {"tag": tag})

    async def tag(self, tag: str, digest: Digest) -> None:
        """Point ``tag`` at ``digest``: index link first, so the history never misses a target."""
        await write_link(self.driver, paths.tag_index_link(self.repository, tag, digest), digest)
        await write_link(self.driver, paths.tag_current_link(self.repository, tag), digest)
        self._changed()

    def _changed(self) -> None:
        if self.listings is not None:
            self.listings.invalidate(self.repository)

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
        if self.driver.lists_in_bulk:
            return await self._targets_in_bulk()
        names = await self._names()
        digests = await self._currents(names)
        # Each distinct target's revision is checked once, in one bulk read.
        unique = sorted({d for d in digests if d is not None}, key=str)
        revisions = await self.driver.get_many(
            [paths.revision_link(self.repository, d) for d in unique]
        )
        present = {d for d, r in zip(unique, revisions, strict=True) if parse_link(r) == d}
        return {n: d for n, d in zip(names, digests, strict=True) if d in present}

    async def _currents(self, names: builtins.list[str]) -> builtins.list[Digest | None]:
        """The digest each tag's current link names (None where absent), in one bulk read."""
        links = [paths.tag_current_link(self.repository, n) for n in names]
        return [parse_link(c) for c in await self.driver.get_many(links)]

    async def _targets_in_bulk(self) -> dict[str, Digest]:
        """``targets`` from two walks (tags, revisions) where a walk is a few bulk listings.

        A tag's index holds every digest it ever named and is written before its current link
        (as in Distribution), so a tag with one index entry names that digest: only the current
        links of tags that moved are read. A revision counts if its link exists.
        """
        tags_dir = paths.tags(self.repository)
        current: builtins.list[str] = []
        index: dict[str, builtins.list[str]] = {}
        try:
            async for info in self.driver.walk(tags_dir):
                parts = info.path[len(tags_dir) + 1 :].split("/")
                if info.is_dir:
                    continue
                if parts[1:] == ["current", "link"]:
                    current.append(parts[0])
                elif len(parts) == 5 and parts[1] == "index" and parts[4] == "link":
                    index.setdefault(parts[0], []).append(f"{parts[2]}:{parts[3]}")
        except PathNotFound:
            await self._names()  # NameUnknown for an unknown repository
            return {}
        revisions: set[str] = set()
        revisions_dir = paths.revisions(self.repository)
        with contextlib.suppress(PathNotFound):
            async for info in self.driver.walk(revisions_dir):
                parts = info.path[len(revisions_dir) + 1 :].split("/")
                if not info.is_dir and len(parts) == 3 and parts[2] == "link":
                    revisions.add(f"{parts[0]}:{parts[1]}")
        sem = asyncio.Semaphore(_RESOLVE_CONCURRENCY)

        async def one(name: str) -> Digest | None:
            known = index.get(name, [])
            if len(known) == 1 and known[0] in revisions:
                return Digest.parse(known[0])
            async with sem:
                digest = await read_link(self.driver, paths.tag_current_link(self.repository, name))
            return digest if digest is not None and str(digest) in revisions else None

        digests = await asyncio.gather(*(one(n) for n in current))
        return {n: d for n, d in zip(current, digests, strict=True) if d is not None}

    async def list(self) -> list[str]:
        """The resolvable tags, sorted; reused while the listing's stamps stay the same.

        The stamps are those of the tags directory (a tag added or removed) and of each
        revisions directory (a manifest added or deleted). A tag moved from one manifest to
        another changes neither, nor the list, since pushes write the revision before the tag.
        """
        if self.listings is None:
            return sorted((await self.targets()).keys())
        dirs = [paths.tags(self.repository)]
        dirs += [f"{paths.revisions(self.repository)}/{alg}" for alg in sorted(ALGORITHMS)]
        stamps = await self.driver.stamps(dirs)
        if stamps is None:
            return sorted((await self.targets()).keys())
        stamp = tuple(stamps)
        hit, names = self.listings.lookup(self.repository, stamp)
        if hit and names is not None:
            return names
        started = self.listings.started()
        names = sorted((await self.targets()).keys())
        self.listings.store(self.repository, stamp, names, started)
        return names

    async def lookup(self, digest: Digest) -> builtins.list[str]:
        """Tags currently pointing at ``digest``."""
        return sorted(n for n, d in (await self.targets()).items() if d == digest)

    async def pointing_at(self, digest: Digest) -> builtins.list[str]:
        """Tags whose current link names ``digest``, whether or not its revision exists."""
        names = await self._names()
        found = await self._currents(names)
        return sorted(n for n, d in zip(names, found, strict=True) if d == digest)

    async def delete(self, tag: str) -> None:
        if not self.delete_enabled:
            raise Unsupported("tag deletion is disabled (storage.delete.enabled)")
        validate_tag(tag)
        deleted = await delete_path(self.driver, paths.tag_dir(self.repository, tag))
        self._changed()
        if not deleted:
            raise ManifestUnknown(f"tag {tag!r} unknown", {"tag": tag})

    async def remove(self, tag: str) -> None:
        """Remove a tag unconditionally (used by manifest deletion)."""
        await delete_path(self.driver, paths.tag_dir(self.repository, tag))
        self._changed()
