"""Fuzz a live ``cargohold serve`` from its own OpenAPI document with schemathesis: zero 5xx.

The run is bounded (examples per operation) and reproducible (deterministic generation);
schemathesis's CLI runs in a subprocess so its event loop stays out of ours. On failure its
report, printed in the assertion, names every failing request with a curl command.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml

from cargohold.api.openapi import document
from cargohold.testing.servers import cargohold_process
from tests.hardening.client import Client, manifest_for

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 25
MAX_SECONDS = 60  # bounds the subprocess; a normal run takes a fraction of it
MIN_CASES = 300  # the run is not vacuous


def test_openapi_document_covers_every_route() -> None:
    """The shipped document names every endpoint (schemathesis validates it when loading)."""
    spec = yaml.safe_load(document())
    assert spec["openapi"].startswith("3.")
    paths = set(spec["paths"])
    for path in (
        "/v2/",
        "/v2/_catalog",
        "/v2/{name}/tags/list",
        "/v2/{name}/manifests/{reference}",
        "/v2/{name}/blobs/{digest}",
        "/v2/{name}/blobs/uploads/",
        "/v2/{name}/blobs/uploads/{uuid}",
        "/v2/{name}/referrers/{digest}",
    ):
        assert path in paths


async def test_fuzzing_the_live_api_finds_no_server_error(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    spec.write_bytes(document())
    async with cargohold_process(tmp_path / "root", tmp_path / "work") as registry:
        # Something to find: fuzzed names and digests then also hit existing content.
        async with aiohttp.ClientSession(registry.url) as http:
            client = Client(http)
            config, layer = b'{"fuzz": true}', b"fuzz layer"
            for repo in ("library", "fuzz"):
                assert await client.push_blob(repo, config)
                assert await client.push_blob(repo, layer)
                assert await client.put_manifest(repo, "latest", manifest_for(config, [layer]))
            async with http.get("/openapi.yaml") as resp:
                assert resp.status == 200
                assert await resp.read() == document()
        command = [
            sys.executable, "-m", "schemathesis.cli", "run", str(spec),
            "--url", registry.url,
            "--checks", "not_a_server_error",
            "--max-examples", str(MAX_EXAMPLES),
            "--generation-deterministic",
            "--phases", "examples,coverage,fuzzing",
            "--workers", "1",
            "--request-timeout", "10",
            "--no-color",
        ]  # fmt: skip
        result = await run_cli(command, tmp_path)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    generated = re.search(r"(\d+) generated", result.stdout)
    assert generated is not None, result.stdout[-3000:]
    assert int(generated.group(1)) >= MIN_CASES, result.stdout[-3000:]


async def run_cli(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS * 3,
        check=False,
    )
