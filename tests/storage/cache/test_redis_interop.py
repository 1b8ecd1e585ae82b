"""CNCF Distribution (the Go registry) and cargohold sharing one Redis read each other's entries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from cargohold.manifest import Descriptor
from cargohold.reference import Digest
from cargohold.storage.cache.redis import RedisBlobDescriptorCache
from cargohold.storage.cache.redispool import RedisSettings
from cargohold.testing.redis_server import RedisServer
from cargohold.testing.servers import (
    RegistryProcess,
    distribution_command,
    distribution_config,
    free_port,
)
from tests.integration.clients import http

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def distribution(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RegistryProcess, str]]:
    """A Go registry caching blob descriptors in ``redis_server``, and its metrics URL."""
    workdir: Path = tmp_path_factory.mktemp("distribution")
    port, debug_port = free_port(), free_port()
    config = distribution_config(workdir / "root", port)
    config["storage"]["cache"] = {"blobdescriptor": "redis"}
    config["redis"] = {"addr": redis_server.addr}
    config["http"]["debug"] = {
        "addr": f"127.0.0.1:{debug_port}",
        "prometheus": {"enabled": True, "path": "/metrics"},
    }
    config_path = workdir / "config.yml"
    process = RegistryProcess(
        "distribution",
        distribution_command(config_path),
        config,
        workdir,
        port,
        config_path=config_path,
    )
    with process:
        yield process, f"http://127.0.0.1:{debug_port}/metrics"


@pytest.fixture
async def cache(redis_server: RedisServer, side: Redis) -> AsyncIterator[RedisBlobDescriptorCache]:
    provider = RedisBlobDescriptorCache.from_config(RedisSettings("127.0.0.1", redis_server.port))
    yield provider
    await provider.aclose()


def push(registry: RegistryProcess, repo: str, data: bytes) -> Digest:
    """POST then a single PUT (OCI distribution-spec §Pushing a blob monolithically)."""
    digest = Digest.from_bytes(data)
    started = http("POST", f"{registry.url}/v2/{repo}/blobs/uploads/")
    assert started.status == 202, started.body
    location = started.headers["Location"]
    url = f"{location}{'&' if '?' in location else '?'}digest={digest}"
    if url.startswith("/"):
        url = registry.url + url
    done = http("PUT", url, body=data, headers={"Content-Type": "application/octet-stream"})
    assert done.status == 201, done.body
    return digest


def cache_hits(metrics_url: str) -> float:
    """Distribution 2.x's ``registry_storage_cache_total{type="Hit"}``."""
    for line in http("GET", metrics_url).body.decode().splitlines():
        if line.startswith('registry_storage_cache_total{type="Hit"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_cargohold_reads_what_distribution_cached(
    distribution: tuple[RegistryProcess, str], cache: RedisBlobDescriptorCache
) -> None:
    registry, _ = distribution
    data = b"pushed through the Go registry"
    digest = push(registry, "interop/go", data)
    assert await cache.repository_scoped("interop/go").stat(digest) == Descriptor(
        digest, len(data), "application/octet-stream"
    )


async def test_distribution_reads_what_cargohold_cached(
    distribution: tuple[RegistryProcess, str], cache: RedisBlobDescriptorCache, side: Redis
) -> None:
    registry, metrics_url = distribution
    data = b"described by cargohold"
    digest = push(registry, "interop/ours", data)
    await side.flushall()  # forget what the Go registry cached on upload
    # A media type only cargohold's entry carries shows whose entry the Go registry served.
    marked = Descriptor(digest, len(data), "application/x-cargohold-marker")
    await cache.repository_scoped("interop/ours").set_descriptor(digest, marked)
    hits = cache_hits(metrics_url)
    response = http("HEAD", f"{registry.url}/v2/interop/ours/blobs/{digest}")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/x-cargohold-marker"
    assert response.headers["Content-Length"] == str(len(data))
    assert cache_hits(metrics_url) > hits  # Go counts several stats per HEAD
