"""Link files: a small file whose content names a digest, written atomically."""

from __future__ import annotations

from cargohold.errors import DigestInvalid, PathNotFound
from cargohold.reference import Digest
from cargohold.storage.driver.base import StorageDriver


def parse_link(content: bytes | None) -> Digest | None:
    """The digest a link file's content names, or None when absent or unreadable."""
    if content is None:
        return None
    try:
        return Digest.parse(content.decode("ascii", "replace").strip())
    except DigestInvalid:
        return None


async def read_link(driver: StorageDriver, path: str) -> Digest | None:
    """Return the digest a link names, or None when it is absent or unreadable (a torn leftover)."""
    try:
        return parse_link(await driver.get_content(path))
    except PathNotFound:
        return None


async def write_link(driver: StorageDriver, path: str, digest: Digest) -> None:
    """Point the link at ``digest``; put_content replaces it atomically, even racing a delete."""
    await driver.put_content(path, str(digest).encode())


async def delete_path(driver: StorageDriver, path: str) -> bool:
    """Delete ``path``; return False when it was already gone."""
    try:
        await driver.delete(path)
    except PathNotFound:
        return False
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
