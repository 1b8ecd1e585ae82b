"""Link files: a small file whose content names a digest, written atomically."""

from __future__ import annotations

from cargohold.errors import DigestInvalid, InvalidPath, PathNotFound
from cargohold.reference import Digest
from cargohold.storage.driver.base import StorageDriver


async def read_link(driver: StorageDriver, path: str) -> Digest | None:
    """Return the digest a link names, or None when it is absent or unreadable (a torn leftover)."""
    try:
        content = await driver.get_content(path)
    except PathNotFound:
        return None
    try:
        return Digest.parse(content.decode("ascii", "replace").strip())
    except DigestInvalid:
        return None


# A write racing a delete of its directory (or a delete racing a write into it) is retried
# this many times; each retry can only be caused by another request making progress.
_RACE_ATTEMPTS = 8


async def write_link(driver: StorageDriver, path: str, digest: Digest) -> None:
    """Point the link at ``digest``; put_content replaces it atomically.

    A concurrent delete may remove the link's directory between the temporary file's creation
    and its rename (PathNotFound), or while its parents are being created (the filesystem
    driver then sees a directory vanish and reports a shape conflict, InvalidPath): the write
    is then simply done again. A real conflict persists and is raised after the last attempt.
    """
    for attempt in range(_RACE_ATTEMPTS):
        try:
            await driver.put_content(path, str(digest).encode())
            return
        except (PathNotFound, InvalidPath):
            if attempt == _RACE_ATTEMPTS - 1:
                raise


async def delete_path(driver: StorageDriver, path: str) -> bool:
    """Delete ``path``; return False when it was already gone.

    A recursive delete racing a write into the tree can fail part-way (the directory was not
    empty by the time it was removed): it is retried while the path still exists.
    """
    for _ in range(_RACE_ATTEMPTS):
        try:
            await driver.delete(path)
        except PathNotFound:
            try:
                await driver.stat(path)
            except PathNotFound:
                return False
            continue
        return True
    await driver.delete(path)
    return True


async def list_digests(driver: StorageDriver, directory: str) -> list[Digest]:
    """Digests named by a ``<dir>/<alg>/<hex>/`` tree (revisions, layers, referrers); junk skipped."""
    out: list[Digest] = []
    try:
        algorithms = await driver.list(directory)
    except PathNotFound:
        return out
    for alg_dir in algorithms:
        try:
            entries = await driver.list(alg_dir)
        except PathNotFound:
            continue
        for entry in entries:
            alg, hex_ = entry.rsplit("/", 2)[-2:]
            try:
                out.append(Digest.parse(f"{alg}:{hex_}"))
            except DigestInvalid:
                continue
    return out
