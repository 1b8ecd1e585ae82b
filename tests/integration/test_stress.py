"""Dozens of clients race on one live ``cargohold serve``: same blobs, same manifests, one hot
tag, mounts and deletes. A ledger of acknowledged writes is checked against the final state.

Seeded and bounded: the operations each worker picks come from ``random.Random(SEED, worker)``
and the run stops after ``DURATION`` seconds (interleavings still vary with scheduling, which is
the point; any failure message names the key and the ledger entries behind the verdict).
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import aiohttp
import pytest

from cargohold.testing.servers import RegistryProcess, cargohold_process
from tests.hardening.client import Client, manifest_for, sha256
from tests.hardening.ledger import Ledger, Op

pytestmark = pytest.mark.integration

SEED = 20240611
WORKERS = 32
DURATION = 12.0
REPOS = ("stress/a", "stress/b")
TAGS = ("hot", "t1", "t2", "t3")
CONFIGS = [f'{{"config": {i}}}'.encode() for i in range(3)]
LAYERS = [bytes([i]) * (200 + 97 * i) for i in range(6)] + [bytes(range(256)) * 1200]
MANIFESTS = [
    manifest_for(CONFIGS[i % 3], [LAYERS[i], LAYERS[(i + 1) % len(LAYERS)]]) for i in range(6)
]


def blobs_of(manifest: bytes) -> list[bytes]:
    i = MANIFESTS.index(manifest)
    return [CONFIGS[i % 3], LAYERS[i], LAYERS[(i + 1) % len(LAYERS)]]


class Worker:
    """One client picking random operations and recording each in the ledger."""

    def __init__(self, client: Client, ledger: Ledger, rng: random.Random) -> None:
        self.client = client
        self.ledger = ledger
        self.rng = rng

    async def step(self) -> None:
        rng = self.rng
        repo = rng.choice(REPOS)
        roll = rng.random()
        if roll < 0.25:
            data = rng.choice(CONFIGS + LAYERS)
            await self.push_blob(repo, data)
        elif roll < 0.55:
            manifest = rng.choice(MANIFESTS)
            for data in blobs_of(manifest):
                await self.push_blob(repo, data)
            tag = "hot" if rng.random() < 0.5 else rng.choice(TAGS)
            await self.put_manifest(repo, manifest, tag)
        elif roll < 0.65:
            data = rng.choice(CONFIGS + LAYERS)
            other = REPOS[1 - REPOS.index(repo)]
            start = time.monotonic()
            acked = await self.client.mount(repo, sha256(data), other)
            if acked:
                self.ledger.record(("blob", repo, sha256(data)), "put", "", start, True)
        elif roll < 0.70:
            digest = sha256(rng.choice(LAYERS))
            start = time.monotonic()
            acked = await self.client.delete_blob(repo, digest)
            self.ledger.record(("blob", repo, digest), "delete", "", start, acked)
        elif roll < 0.76:
            digest = sha256(rng.choice(MANIFESTS))
            start = time.monotonic()
            acked = await self.client.delete_manifest(repo, digest)
            self.ledger.record(("manifest", repo, digest), "delete", "", start, acked)
        elif roll < 0.82:
            tag = rng.choice(TAGS[1:])
            start = time.monotonic()
            acked = await self.client.delete_manifest(repo, tag)
            self.ledger.record(("tag", repo, tag), "delete", "", start, acked)
        else:
            await self.read(repo)

    async def push_blob(self, repo: str, data: bytes) -> None:
        start = time.monotonic()
        chunks = 3 if len(data) > 100_000 and self.rng.random() < 0.7 else 1
        acked = await self.client.push_blob(repo, data, chunks=chunks)
        self.ledger.record(("blob", repo, sha256(data)), "put", "", start, acked)
        assert acked, f"pushing a blob to {repo} was refused"

    async def put_manifest(self, repo: str, manifest: bytes, tag: str) -> None:
        digest = sha256(manifest)
        start = self.ledger.intend(("tag", repo, tag), digest)
        acked = await self.client.put_manifest(repo, tag, manifest)
        self.ledger.record(("manifest", repo, digest), "put", "", start, acked)
        self.ledger.record(("tag", repo, tag), "put", digest, start, acked)

    async def read(self, repo: str) -> None:
        """Reads during the race: whatever is served must be whole and match its digest."""
        for tag in await self.client.tags(repo):
            found = await self.client.get_manifest(repo, tag)
            if found is not None:
                assert found[0] in self.ledger.intended[("tag", repo, tag)], (repo, tag)
        await self.client.get_blob(repo, sha256(self.rng.choice(LAYERS)))


async def run_workers(registry: RegistryProcess, ledger: Ledger) -> int:
    connector = aiohttp.TCPConnector(limit=WORKERS)
    async with aiohttp.ClientSession(registry.url, connector=connector) as http:
        client = Client(http)
        deadline = time.monotonic() + DURATION
        counts = [0] * WORKERS

        async def work(n: int) -> None:
            worker = Worker(client, ledger, random.Random(f"{SEED}-{n}"))
            while time.monotonic() < deadline:
                await worker.step()
                counts[n] += 1

        await asyncio.gather(*(work(n) for n in range(WORKERS)))
        return sum(counts)


async def verify(registry: RegistryProcess, ledger: Ledger) -> None:
    """Every guarantee the ledger implies, checked through the API."""
    async with aiohttp.ClientSession(registry.url) as http:
        client = Client(http)
        for (kind, repo, name), ops in sorted(ledger.ops.items()):
            if kind == "blob":
                present = await client.get_blob(repo, name) is not None
                if ledger.must_exist((kind, repo, name)):
                    assert present, f"acknowledged blob {repo}@{name} is gone: {ops}"
                if ledger.must_be_gone((kind, repo, name)):
                    assert not present, f"acknowledged delete of {repo}@{name} undone: {ops}"
            elif kind == "manifest":
                present = await client.get_manifest(repo, name) is not None
                if ledger.must_exist((kind, repo, name)):
                    assert present, f"acknowledged manifest {repo}@{name} is gone: {ops}"
                if ledger.must_be_gone((kind, repo, name)):
                    assert not present, f"acknowledged delete of {repo}@{name} undone: {ops}"
        for repo in REPOS:
            listed = set(await client.tags(repo))
            for tag in TAGS:
                key = ("tag", repo, tag)
                found = await client.get_manifest(repo, tag)
                assert (found is not None) == (tag in listed), (
                    f"tags/list disagrees on {repo}:{tag}"
                )
                if found is not None:
                    candidates = ledger.tag_candidates(key)
                    assert found[0] in candidates, (
                        f"{repo}:{tag} names {found[0]}: {ledger.ops[key]}"
                    )
                # Deleting any manifest the tag may name can remove the tag too.
                deletes = [
                    Op("delete", "", o.start, o.end, o.acked)
                    for digest in ledger.written_values(key)
                    for o in ledger.ops.get(("manifest", repo, digest), [])
                    if o.kind == "delete"
                ]
                if ledger.must_exist(key, deletes):
                    assert found is not None, (
                        f"acknowledged tag {repo}:{tag} is gone: {ledger.ops[key]}"
                    )


async def test_concurrent_clients_never_lose_acknowledged_writes(tmp_path: Path) -> None:
    ledger = Ledger()
    async with cargohold_process(tmp_path / "root", tmp_path / "work") as registry:
        operations = await run_workers(registry, ledger)
        await verify(registry, ledger)
        errors = [
            line for line in registry.log_path.read_text().splitlines() if "level=error" in line
        ]
        assert not errors, errors[:3]
    assert operations > WORKERS  # every worker got through its loop more than once
    acked_tags = sum(o.acked for (k, _, _), ops in ledger.ops.items() if k == "tag" for o in ops)
    assert acked_tags > 0
