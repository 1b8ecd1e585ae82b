"""SIGKILL a real ``cargohold serve`` (filesystem storage, every process of it) at random moments
of pushes, tag updates and deletes, restart it on the same root, and check what survived.

After every restart: each acknowledged write is intact (unless a later delete was
acknowledged), every blob file on disk matches its digest (in-flight uploads are absent or
complete, never torn), ``tags/list`` names exactly the resolvable tags and each names a manifest
once written to it, and an upload interrupted mid-way resumes from the offset the registry
reports (or is BLOB_UPLOAD_UNKNOWN), never producing a wrong blob. Seeded and bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from cargohold.testing.servers import cargohold_command, cargohold_config, free_port
from tests.hardening.client import Client, manifest_for, sha256
from tests.hardening.ledger import Ledger

pytestmark = pytest.mark.integration

SEED = 7_2024
ROUNDS = 5
CLIENTS = 6
REPO = "crash/repo"
TAGS = ("latest", "stable", "v1")
CONFIGS = [f'{{"round-config": {i}}}'.encode() for i in range(3)]
LAYERS = [bytes([i]) * (5000 + 3001 * i) for i in range(5)]
MANIFESTS = [manifest_for(CONFIGS[i % 3], [LAYERS[i], LAYERS[(i + 2) % 5]]) for i in range(5)]
BIG = bytes(range(256)) * 4096  # 1 MiB, pushed in chunks so a kill can land mid-upload
STARTUP = 20.0


@dataclass
class Server:
    """``cargohold serve`` in its own process group, so one SIGKILL takes every worker down."""

    root: Path
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "config.yml"
        config: dict[str, Any] = cargohold_config(self.root, self.port)
        config_path.write_text(yaml.safe_dump(config))
        self._spawn(config_path)
        assert self.process is not None
        deadline = time.monotonic() + STARTUP
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.log_tail()
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/v2/") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.05)
        raise AssertionError(f"cargohold did not start:\n{self.log_tail()}")

    def _spawn(self, config_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        with (self.workdir / "cargohold.log").open("ab") as log:
            self.process = subprocess.Popen(
                cargohold_command(config_path),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole process group: no handler, no drain, no flush."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def log_tail(self) -> str:
        path = self.workdir / "cargohold.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-40:]) if path.exists() else ""
        )


@dataclass
class Interrupted:
    """A chunked upload cut off by a kill: its session URL and the blob it was sending."""

    location: str
    data: bytes


async def client_loop(
    client: Client, ledger: Ledger, rng: random.Random, cut: list[Interrupted]
) -> None:
    """Random writes until the server dies under us (any connection error ends the loop).

    A write cut off by the kill is recorded unacknowledged: it may or may not have landed.
    """

    async def write(
        key: tuple[str, str, str], kind: str, value: str, call: Awaitable[bool]
    ) -> None:
        start = ledger.intend(key, value) if kind == "put" else time.monotonic()
        acked = False
        try:
            acked = await call
        finally:
            ledger.record(key, kind, value, start, acked)

    with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
        while True:
            roll = rng.random()
            if roll < 0.2:
                await chunked_upload(client, ledger, rng, cut)
            elif roll < 0.6:
                manifest = rng.choice(MANIFESTS)
                i = MANIFESTS.index(manifest)
                for blob in (CONFIGS[i % 3], LAYERS[i], LAYERS[(i + 2) % 5]):
                    await write(
                        ("blob", REPO, sha256(blob)), "put", "", client.push_blob(REPO, blob)
                    )
                tag, digest = rng.choice(TAGS), sha256(manifest)
                ledger.intend(("manifest", REPO, digest), "")
                start = ledger.intend(("tag", REPO, tag), digest)
                acked = False
                try:
                    acked = await client.put_manifest(REPO, tag, manifest)
                finally:
                    ledger.record(("manifest", REPO, digest), "put", "", start, acked)
                    ledger.record(("tag", REPO, tag), "put", digest, start, acked)
            elif roll < 0.8:
                tag = rng.choice(TAGS)
                await write(("tag", REPO, tag), "delete", "", client.delete_manifest(REPO, tag))
            else:
                digest = sha256(rng.choice(MANIFESTS))
                await write(
                    ("manifest", REPO, digest), "delete", "", client.delete_manifest(REPO, digest)
                )


async def chunked_upload(
    client: Client, ledger: Ledger, rng: random.Random, cut: list[Interrupted]
) -> None:
    """POST, then PATCH 64 KiB chunks of BIG; remembered so it can be resumed after a kill."""
    async with client.http.post(f"/v2/{REPO}/blobs/uploads/") as resp:
        assert resp.status == 202
        location = resp.headers["Location"]
    interrupted = Interrupted(location, BIG)
    cut.append(interrupted)
    step = 64 * 1024
    for offset in range(0, len(BIG), step):
        piece = BIG[offset : offset + step]
        headers = {"Content-Range": f"{offset}-{offset + len(piece) - 1}"}
        async with client.http.patch(location, data=piece, headers=headers) as resp:
            assert resp.status == 202, await resp.text()
            interrupted.location = location = resp.headers["Location"]
        await asyncio.sleep(rng.uniform(0, 0.01))
    start = time.monotonic()
    async with client.http.put(f"{location}?digest={sha256(BIG)}") as resp:
        assert resp.status == 201, await resp.text()
    cut.remove(interrupted)
    ledger.record(("blob", REPO, sha256(BIG)), "put", "", start, True)


async def resume(client: Client, upload: Interrupted) -> None:
    """Continue from the offset the registry reports; the result must be the intended blob."""
    offset = await client.upload_offset(upload.location)
    if offset is None:
        return  # BLOB_UPLOAD_UNKNOWN: the client starts over, which is allowed
    location = upload.location
    rest = upload.data[offset:]
    if rest:
        location = await send_rest(client, location, offset, upload.data)
    async with client.http.put(f"{location}?digest={sha256(upload.data)}") as resp:
        assert resp.status == 201, f"resumed upload did not verify: {await resp.text()}"
    assert await client.get_blob(REPO, sha256(upload.data)) == upload.data


async def send_rest(client: Client, location: str, offset: int, data: bytes) -> str:
    """PATCH ``data[offset:]``; return the session's next Location."""
    rest = data[offset:]
    headers = {"Content-Range": f"{offset}-{offset + len(rest) - 1}"}
    async with client.http.patch(location, data=rest, headers=headers) as resp:
        if resp.status == 416 and offset == 0:
            # "0-0" reports both an empty upload and a one-byte one (distribution-spec's Range
            # is inclusive); the 416 settles it.
            return await send_rest(client, location, 1, data)
        assert resp.status == 202, await resp.text()
        return resp.headers["Location"]


def torn_blobs(root: Path) -> list[str]:
    """Blob files on disk whose content does not hash to the digest their path names."""
    bad = []
    for data in (root / "docker/registry/v2/blobs/sha256").glob("*/*/data"):
        if hashlib.sha256(data.read_bytes()).hexdigest() != data.parent.name:
            bad.append(str(data))
    return bad


async def verify(client: Client, ledger: Ledger, root: Path) -> None:
    assert not torn_blobs(root)
    for (kind, repo, name), ops in sorted(ledger.ops.items()):
        if kind == "blob":
            present = await client.get_blob(repo, name) is not None
        elif kind == "manifest":
            present = await client.get_manifest(repo, name) is not None
        else:
            continue
        if ledger.must_exist((kind, repo, name)):
            assert present, f"acknowledged {kind} {name} lost: {ops}"
        if ledger.must_be_gone((kind, repo, name)):
            assert not present, f"acknowledged delete of {kind} {name} undone: {ops}"
    listed = set(await client.tags(REPO))
    for tag in TAGS:
        key = ("tag", REPO, tag)
        found = await client.get_manifest(REPO, tag)
        assert (found is not None) == (tag in listed), f"tags/list disagrees on {tag}"
        if found is not None:
            assert found[0] in ledger.intended[key], f"{tag} names {found[0]}: {ledger.ops[key]}"
        deletes = [
            o
            for digest in ledger.written_values(key)
            for o in ledger.ops.get(("manifest", REPO, digest), [])
            if o.kind == "delete"
        ]
        if ledger.must_exist(key, deletes):
            assert found is not None, f"acknowledged tag {tag} lost: {ledger.ops[key]}"


async def test_sigkill_at_random_points_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    ledger = Ledger()
    root = tmp_path / "root"
    resumed = 0
    for round_ in range(ROUNDS):
        server = Server(root, tmp_path / f"work-{round_}")
        await server.start()
        try:
            cut: list[Interrupted] = []
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(server.url, timeout=timeout) as http:
                clients = [
                    asyncio.create_task(
                        client_loop(Client(http), ledger, random.Random(rng.random()), cut)
                    )
                    for _ in range(CLIENTS)
                ]
                await asyncio.sleep(rng.uniform(0.3, 1.2))
                server.kill()
                await asyncio.gather(*clients)
            await server.start()
            async with aiohttp.ClientSession(server.url, timeout=timeout) as http:
                client = Client(http)
                await verify(client, ledger, root)
                for upload in cut:
                    await resume(client, upload)
                    resumed += 1
                await verify(client, ledger, root)
        except BaseException as exc:
            exc.add_note(f"round {round_}; server log tail:\n{server.log_tail()}")
            raise
        finally:
            server.kill()
    assert any(o.acked for ops in ledger.ops.values() for o in ops)
    assert resumed > 0  # at least one upload was cut mid-way and resumed
