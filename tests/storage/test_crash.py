"""Crash at every storage operation of a push/retag/delete sequence: nothing torn is ever visible.

A wrapper driver raises at the N-th mutating call (the process "dies" there); a fresh registry
over what was left must then see only complete blobs, manifests and resolvable tags, and every
step acknowledged before the crash must be intact.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from cargohold.reference import Digest
from cargohold.storage import paths
from cargohold.storage.driver.base import FileInfo, FileReader, FileWriter, StorageDriver
from cargohold.storage.links import list_digests
from cargohold.storage.registry import StorageRegistry, create_registry
from tests.storage.conftest import OCI_MANIFEST, body, image_manifest


class SimulatedCrash(BaseException):
    """Raised where the process dies; BaseException so no `except Exception` can swallow it."""


class CrashingDriver(StorageDriver):
    """Delegates to ``inner`` but dies at the ``crash_at``-th mutating operation."""

    def __init__(self, inner: StorageDriver, crash_at: int | None) -> None:
        self.inner = inner
        self.crash_at = crash_at
        self.ops = 0

    def tick(self) -> None:
        self.ops += 1
        if self.crash_at is not None and self.ops >= self.crash_at:
            raise SimulatedCrash

    async def get_content(self, path: str) -> bytes:
        return await self.inner.get_content(path)

    async def put_content(self, path: str, content: bytes) -> None:
        self.tick()
        await self.inner.put_content(path, content)

    async def reader(self, path: str, offset: int = 0) -> FileReader:
        return await self.inner.reader(path, offset)

    async def writer(self, path: str, append: bool = False) -> FileWriter:
        self.tick()
        return _CrashingWriter(self, await self.inner.writer(path, append))

    async def stat(self, path: str) -> FileInfo:
        return await self.inner.stat(path)

    async def list(self, path: str) -> list[str]:
        return await self.inner.list(path)

    async def move(self, source: str, dest: str) -> None:
        self.tick()
        await self.inner.move(source, dest)

    async def delete(self, path: str) -> None:
        self.tick()
        await self.inner.delete(path)


class _CrashingWriter(FileWriter):
    def __init__(self, driver: CrashingDriver, inner: FileWriter) -> None:
        self.driver = driver
        self.inner = inner

    @property
    def size(self) -> int:
        return self.inner.size

    async def write(self, data: bytes) -> None:
        self.driver.tick()
        await self.inner.write(data)

    async def close(self) -> None:
        # A dying process does not flush its buffers: a crash here loses the unflushed bytes.
        self.driver.tick()
        await self.inner.close()

    async def commit(self) -> None:
        self.driver.tick()
        await self.inner.commit()

    async def cancel(self) -> None:
        await self.inner.cancel()


CONFIG, LAYER_A, LAYER_B = b'{"c": 1}', b"A" * 3000, b"B" * 5000


async def scenario(reg: StorageRegistry, acked: list[str]) -> None:
    """Push, tag, retag, untag and delete; append a label to ``acked`` after each acknowledged step."""
    repo = reg.repository("crash/test")
    for blob in (CONFIG, LAYER_A, LAYER_B):
        status = await repo.uploads.create()
        await repo.uploads.append(status.upload_id, body(blob[:1000]), start=0)
        await repo.uploads.commit(status.upload_id, Digest.from_bytes(blob), body(blob[1000:]))
        acked.append(f"blob:{Digest.from_bytes(blob)}")
    first = image_manifest(CONFIG, [LAYER_A])
    second = image_manifest(CONFIG, [LAYER_A, LAYER_B])
    d1 = (await repo.manifests.put(first, OCI_MANIFEST, None, ["latest", "v1"]))[0].digest
    acked.append(f"manifest:{d1}:latest,v1")
    d2 = (await repo.manifests.put(second, OCI_MANIFEST, None, ["latest"]))[0].digest
    acked.append(f"manifest:{d2}:latest")
    acked.append(f"inflight:delete:{d1}")  # the untag below may be interrupted too
    await repo.tags.delete("v1")
    acked.append("untag:v1")
    await repo.manifests.delete(d1)
    acked.append(f"delete:{d1}")


async def verify(inner: StorageDriver, acked: list[str]) -> None:
    reg = create_registry(inner, delete_enabled=True, cache=None)
    repo = reg.repository("crash/test")
    # Every blob link names a complete blob that matches its digest (never a dangling link).
    for digest in await list_digests(inner, paths.layers("crash/test")):
        async with await repo.blobs.open(digest) as reader:
            data = b"".join([c async for c in reader])
        assert Digest.from_bytes(data) == digest
    # Every manifest revision is complete, and every tag resolves to one.
    for digest in await list_digests(inner, paths.revisions("crash/test")):
        stored = await repo.manifests.get(digest)
        assert Digest.from_bytes(stored.content) == digest
        for layer in json.loads(stored.content)["layers"]:
            await repo.blobs.stat(Digest.parse(layer["digest"]))
    try:
        tags = await repo.tags.list()
    except Exception:
        tags = []
    for tag in tags:
        await repo.manifests.get(await repo.tags.resolve(tag))
    # A step interrupted by the crash may be applied, absent, or (for multi-link deletes)
    # part-way, so its targets are exempt; acknowledged steps must hold exactly.
    deleted = {a.split(":", 1)[1] for a in acked if a.startswith(("delete:", "inflight:delete:"))}
    deleted = {d.removeprefix("delete:") for d in deleted}
    for step in acked:
        kind, _, rest = step.partition(":")
        if kind == "blob":
            assert (await repo.blobs.stat(Digest.parse(rest))).size > 0
        elif kind == "manifest":
            ref, _, names = rest.rpartition(":")
            if ref in deleted:
                continue
            await repo.manifests.get(Digest.parse(ref))
            latest = [a for a in acked if a.startswith("manifest:") and "latest" in a][-1]
            for name in names.split(","):
                if name == "v1" and any(a.startswith("inflight:") for a in acked):
                    continue
                if name == "latest" and latest.split(":", 1)[1].rsplit(":", 1)[0] != ref:
                    continue  # retagged by a later acknowledged step
                assert str(await repo.tags.resolve(name)) == ref


async def count_ops(make: Callable[[], StorageDriver]) -> int:
    driver = CrashingDriver(make(), None)
    await scenario(create_registry(driver, delete_enabled=True, cache=None), [])
    return driver.ops


def _run(
    make: Callable[[], StorageDriver],
) -> Callable[[int], Coroutine[Any, Any, None]]:
    async def run(crash_at: int) -> None:
        inner = make()
        driver = CrashingDriver(inner, crash_at)
        acked: list[str] = []
        with pytest.raises(SimulatedCrash):
            await scenario(create_registry(driver, delete_enabled=True, cache=None), acked)
        await verify(inner, acked)

    return run


async def test_crash_at_every_operation_leaves_consistent_storage(driver: StorageDriver) -> None:
    if hasattr(driver, "local_path") and driver.local_path("/x") is not None:
        root = driver.local_path("/x")
        assert root is not None
        base = root[: -len("/x")]
        counter = iter(range(10_000))

        def make() -> StorageDriver:
            from cargohold.storage.driver.filesystem import FilesystemDriver

            return FilesystemDriver(f"{base}/run{next(counter)}")
    else:

        def make() -> StorageDriver:
            from cargohold.storage.driver.inmemory import InMemoryDriver

            return InMemoryDriver()

    total = await count_ops(make)
    assert total > 20
    run = _run(make)
    for crash_at in range(1, total + 1):
        await run(crash_at)
