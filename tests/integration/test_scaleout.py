"""Stateless replicas: cargohold processes sharing one SeaweedFS bucket and one redis-server.

A and B serve content directly; C is the same registry with ``storage.redirect.disable: false``,
so blob GETs answer 307 to a presigned S3 URL. All share ``http.secret``, the bucket's
``rootdirectory`` and the Redis blob descriptor cache, so any of them can continue any upload
and serve (or forget) any content.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from cargohold.testing.driver_suite import blob
from cargohold.testing.redis_server import RedisServer
from cargohold.testing.seaweedfs import SeaweedFS
from cargohold.testing.servers import RegistryProcess, cargohold_command, free_port
from tests.integration.clients import skopeo
from tests.integration.images import OciLayout, build_image, read_layout_blob

pytestmark = pytest.mark.integration

MiB = 1 << 20
SECRET = "scale-out-shared-secret"


@dataclass(frozen=True)
class Cluster:
    a: RegistryProcess
    b: RegistryProcess
    redirecting: RegistryProcess
    s3_endpoint: str


def replica_config(
    seaweedfs: SeaweedFS, redis: RedisServer, root: str, port: int, *, redirect: bool
) -> dict[str, Any]:
    """A cargohold config.yml on the shared bucket and Redis, listening on ``port``."""
    return {
        "version": "0.1",
        "log": {"level": "info"},
        "http": {"addr": f"127.0.0.1:{port}", "secret": SECRET, "workers": 1},
        "storage": {
            # The smallest parts S3 allows: a few MiB already spans several of them.
            "s3": seaweedfs.driver_parameters(rootdirectory=root, chunksize=5 * MiB),
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "redis"},
            "redirect": {"disable": not redirect},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "redis": {"addr": redis.addr},
    }


@pytest.fixture(scope="module")
def cluster(
    seaweedfs: SeaweedFS, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    root = f"/scaleout-{uuid.uuid4().hex[:8]}"
    started: list[RegistryProcess] = []
    try:
        for name, redirect in (("a", False), ("b", False), ("c", True)):
            port, workdir = free_port(), tmp_path_factory.mktemp(f"replica-{name}")
            config_path = workdir / "config.yml"
            process = RegistryProcess(
                f"cargohold-{name}",
                cargohold_command(config_path),
                replica_config(seaweedfs, redis_server, root, port, redirect=redirect),
                workdir,
                port,
                config_path=config_path,
            )
            started.append(process)
            process.start()
        a, b, c = started
        yield Cluster(a, b, c, seaweedfs.endpoint)
    finally:
        for process in started:
            process.stop()


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def on(replica: RegistryProcess, location: str) -> str:
    """An upload ``Location`` (absolute or not) addressed to ``replica``."""
    parts = urlsplit(location)
    return f"{replica.url}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def test_push_through_one_replica_pull_through_another(cluster: Cluster, tmp_path: Path) -> None:
    source = OciLayout(tmp_path / "source")
    image = build_image(source, "v1", seed=31, layers=2, layer_size=6 * MiB)
    skopeo(
        "copy",
        "--dest-tls-verify=false",
        source.ref("v1"),
        f"docker://{cluster.a.host}/team/app:v1",
    )
    pulled = OciLayout(tmp_path / "pulled")
    skopeo(
        "copy", "--src-tls-verify=false", f"docker://{cluster.b.host}/team/app:v1", pulled.ref("v1")
    )
    for digest in (*image.layer_digests, image.digest):
        assert read_layout_blob(pulled.path, digest) == read_layout_blob(source.path, digest)


async def test_chunked_upload_started_on_a_continued_on_b_finished_on_a(
    cluster: Cluster,
) -> None:
    chunks = [blob(7 * MiB + 11, seed=1), blob(6 * MiB, seed=2), blob(3 * MiB + 5, seed=3)]
    content = b"".join(chunks)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{cluster.a.url}/v2/team/chunked/blobs/uploads/") as response:
            assert response.status == 202
            location = response.headers["Location"]
        offset = 0
        for replica, chunk in zip((cluster.a, cluster.b), chunks[:2], strict=True):
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
            }
            async with http.patch(
                on(replica, location), data=io.BytesIO(chunk), headers=headers
            ) as response:
                assert response.status == 202, await response.text()
                offset += len(chunk)
                assert response.headers["Range"] == f"0-{offset - 1}"
                location = response.headers["Location"]
        # Either replica reports the progress the other made.
        async with http.get(on(cluster.a, location)) as response:
            assert response.status == 204
            assert response.headers["Range"] == f"0-{offset - 1}"
        put = (
            f"{on(cluster.a, location)}{'&' if '?' in location else '?'}digest={digest_of(content)}"
        )
        async with http.put(put, data=io.BytesIO(chunks[2])) as response:
            assert response.status == 201, await response.text()
        async with http.get(f"{cluster.b.url}/v2/team/chunked/blobs/{digest_of(content)}") as got:
            assert got.status == 200
            assert await got.read() == content


async def test_blob_deleted_through_b_is_gone_through_a(cluster: Cluster) -> None:
    data = blob(300_000, seed=4)
    digest = digest_of(data)
    async with aiohttp.ClientSession() as http:
        url = f"{cluster.a.url}/v2/team/gone/blobs/uploads/?digest={digest}"
        async with http.post(url, data=io.BytesIO(data)) as response:
            assert response.status == 201
        for replica in (cluster.a, cluster.b):  # both have it in the shared cache now
            async with http.head(f"{replica.url}/v2/team/gone/blobs/{digest}") as response:
                assert response.status == 200
        async with http.delete(f"{cluster.b.url}/v2/team/gone/blobs/{digest}") as response:
            assert response.status == 202
        async with http.head(f"{cluster.a.url}/v2/team/gone/blobs/{digest}") as response:
            assert response.status == 404


async def test_blob_get_redirects_to_s3_and_head_stays_local(cluster: Cluster) -> None:
    data = blob(2 * MiB + 3, seed=5)
    digest = digest_of(data)
    blob_url = f"{cluster.redirecting.url}/v2/team/redirect/blobs/{digest}"
    async with aiohttp.ClientSession() as http:
        url = f"{cluster.a.url}/v2/team/redirect/blobs/uploads/?digest={digest}"
        async with http.post(url, data=io.BytesIO(data)) as response:
            assert response.status == 201
        async with http.get(blob_url, allow_redirects=False) as response:
            assert response.status == 307
            location = response.headers["Location"]
            assert response.headers["Docker-Content-Digest"] == digest
        assert location.startswith(f"{cluster.s3_endpoint}/")
        assert "X-Amz-Signature=" in location
        async with http.get(blob_url) as response:  # aiohttp follows the 307 to S3
            assert response.status == 200
            assert str(response.url).startswith(cluster.s3_endpoint)
            assert await response.read() == data
        async with http.head(blob_url, allow_redirects=False) as response:
            assert response.status == 200
            assert "Location" not in response.headers
            assert response.headers["Content-Length"] == str(len(data))


async def test_skopeo_pull_follows_redirects(cluster: Cluster, tmp_path: Path) -> None:
    source = OciLayout(tmp_path / "source")
    image = build_image(source, "v1", seed=32, layers=2, layer_size=256 * 1024)
    await asyncio.to_thread(
        skopeo,
        "copy",
        "--dest-tls-verify=false",
        source.ref("v1"),
        f"docker://{cluster.b.host}/team/redirected:v1",
    )
    async with aiohttp.ClientSession() as http:
        for digest in image.layer_digests:  # what skopeo is about to be sent to S3 for
            url = f"{cluster.redirecting.url}/v2/team/redirected/blobs/{digest}"
            async with http.get(url, allow_redirects=False) as response:
                assert response.status == 307
    pulled = OciLayout(tmp_path / "pulled")
    await asyncio.to_thread(
        skopeo,
        "copy",
        "--src-tls-verify=false",
        f"docker://{cluster.redirecting.host}/team/redirected:v1",
        pulled.ref("v1"),
    )
    for digest in image.layer_digests:
        assert read_layout_blob(pulled.path, digest) == read_layout_blob(source.path, digest)
