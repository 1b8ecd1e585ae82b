"""Upload purging removes only abandoned sessions older than the age."""

from __future__ import annotations

import asyncio
import time

import pytest

from cargohold.errors import BlobUploadUnknown
from cargohold.storage import paths
from cargohold.storage.purge import PurgePolicy, purge_uploads, upload_purger
from cargohold.storage.registry import StorageRegistry
from tests.storage.conftest import body


async def test_purges_old_uploads_only(registry: StorageRegistry) -> None:
    uploads = registry.repository("a/b").uploads
    old = await uploads.create()
    await uploads.append(old.upload_id, body(b"abandoned"))
    fresh = await uploads.create()
    await registry.driver.put_content(
        paths.upload_started_at("a/b", old.upload_id), b"2020-01-01T00:00:00Z"
    )
    dry = await purge_uploads(registry.driver, time.time() - 3600, dry_run=True)
    assert dry == [paths.upload_dir("a/b", old.upload_id)]
    assert (await uploads.status(old.upload_id)).offset == 9
    purged = await purge_uploads(registry.driver, time.time() - 3600, dry_run=False)
    assert purged == dry
    with pytest.raises(BlobUploadUnknown):
        await uploads.status(old.upload_id)
    assert (await uploads.status(fresh.upload_id)).offset == 0


async def test_purger_runs_in_background(registry: StorageRegistry) -> None:
    uploads = registry.repository("r").uploads
    old = await uploads.create()
    policy = PurgePolicy(enabled=True, age=0.0, interval=0.01)
    async with upload_purger(registry.driver, policy):
        for _ in range(500):
            try:
                await uploads.status(old.upload_id)
            except BlobUploadUnknown:
                break
            await asyncio.sleep(0.01)
    with pytest.raises(BlobUploadUnknown):
        await uploads.status(old.upload_id)
