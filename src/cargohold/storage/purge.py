"""Upload purging: removes abandoned upload sessions older than an age, like Distribution's purger."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from cargohold.errors import PathNotFound
from cargohold.storage import paths
from cargohold.storage.driver.base import StorageDriver
from cargohold.storage.links import delete_path
from cargohold.storage.uploads import parse_started_at

log = logging.getLogger(__name__)


async def _upload_dirs(driver: StorageDriver, directory: str) -> AsyncIterator[str]:
    """Yield every ``_uploads/<id>`` directory below ``directory``."""
    try:
        children = await driver.list(directory)
    except PathNotFound:
        return
    for child in sorted(children):
        name = child.rsplit("/", 1)[1]
        if name == "_uploads":
            try:
                for upload in sorted(await driver.list(child)):
                    yield upload
            except PathNotFound:
                continue
        elif not name.startswith("_"):
            async for upload in _upload_dirs(driver, child):
                yield upload


async def purge_uploads(driver: StorageDriver, older_than: float, *, dry_run: bool) -> list[str]:
    """Delete upload directories started before ``older_than`` (POSIX time); return their paths.

    An upload without a readable start time is judged by its data file's modification time, and
    one without either by its directory's: a session being created right now has neither yet,
    and must not be mistaken for an ancient one.
    """
    purged: list[str] = []
    async for upload in _upload_dirs(driver, paths.REPOSITORIES):
        try:
            started = parse_started_at(await driver.get_content(f"{upload}/startedat"))
        except PathNotFound:
            started = 0.0
        for fallback in (f"{upload}/data", upload):
            if started:
                break
            try:
                started = (await driver.stat(fallback)).mod_time
            except PathNotFound:
                started = 0.0
        if not started or started >= older_than:
            continue  # gone meanwhile, or young enough
        purged.append(upload)
        if not dry_run:
            await delete_path(driver, upload)
    return purged


@dataclass(frozen=True, slots=True)
class PurgePolicy:
    """``storage.maintenance.uploadpurging``: age and interval in seconds."""

    enabled: bool = True
    age: float = 168 * 3600.0
    interval: float = 24 * 3600.0
    dry_run: bool = False


@contextlib.asynccontextmanager
async def upload_purger(driver: StorageDriver, policy: PurgePolicy) -> AsyncIterator[None]:
    """Run purging in the background for the lifetime of the context (the app's lifetime)."""
    if not policy.enabled:
        yield
        return

    async def loop() -> None:
        # Jitter the first run like Distribution, so replicas do not all walk storage at once.
        await asyncio.sleep(random.uniform(0, min(policy.interval, 60.0)))
        while True:
            try:
                purged = await purge_uploads(
                    driver, time.time() - policy.age, dry_run=policy.dry_run
                )
                if purged:
                    log.info(
                        "upload purge: %s %d uploads",
                        "would remove" if policy.dry_run else "removed",
                        len(purged),
                    )
            except Exception:
                log.exception("upload purge failed")
            await asyncio.sleep(policy.interval)

    task = asyncio.create_task(loop(), name="upload-purger")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
