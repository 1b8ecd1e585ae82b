"""``create_app``: services from configuration, lifecycle, and streaming guarantees."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient
from yarl import URL

from cargohold.api import context, create_app
from cargohold.manifest import Descriptor
from cargohold.metrics import Metrics
from cargohold.reference import Digest
from cargohold.storage.base import Body, UploadStatus
from cargohold.storage.cache.inmemory import InMemoryBlobDescriptorCache
from cargohold.storage.driver.base import READ_CHUNK_SIZE
from cargohold.storage.driver.inmemory import InMemoryDriver
from cargohold.storage.linkedblobs import LinkedBlobService
from cargohold.storage.uploads import Uploads
from tests.api.conftest import MakeClient, make_config
from tests.api.helpers import Client, push_blob, push_image


async def test_driver_and_cache_are_closed_on_cleanup(
    aiohttp_client: AiohttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []

    async def driver_aclose(self: InMemoryDriver) -> None:
        closed.append("driver")

    async def cache_aclose(self: InMemoryBlobDescriptorCache) -> None:
        closed.append("cache")

    monkeypatch.setattr(InMemoryDriver, "aclose", driver_aclose)
    monkeypatch.setattr(InMemoryBlobDescriptorCache, "aclose", cache_aclose)
    app = create_app(make_config(storage={"cache": {"blobdescriptor": "inmemory"}}))
    assert isinstance(app[context.CACHE], InMemoryBlobDescriptorCache)
    client = await aiohttp_client(app)
    assert (await client.get("/v2/")).status == 200
    assert closed == []
    await client.close()
    assert closed == ["cache", "driver"]


async def test_with_blob_descriptor_cache(make_client: MakeClient) -> None:
    client = await make_client(storage={"cache": {"blobdescriptor": "inmemory"}})
    manifest, _ = await push_image(client, "foo", "v1")
    assert await (await client.get("/v2/foo/manifests/v1")).read() == manifest
    blob = await push_blob(client, "foo", b"cached")
    assert (await client.head(f"/v2/foo/blobs/{blob}")).status == 200
    assert (await client.delete(f"/v2/foo/blobs/{blob}")).status == 202
    assert (await client.head(f"/v2/foo/blobs/{blob}")).status == 404


def test_metrics_are_the_apps_own_or_the_given_ones() -> None:
    first, second = create_app(make_config()), create_app(make_config())
    assert first[context.METRICS] is not second[context.METRICS]
    shared = Metrics()
    assert create_app(make_config(), metrics=shared)[context.METRICS] is shared


def test_redis_cache_needs_the_redis_section() -> None:
    with pytest.raises(ValueError, match="redis"):
        create_app(make_config(storage={"cache": {"blobdescriptor": "redis"}}))


def test_settings_from_config() -> None:
    config = make_config(
        http={"prefix": "/reg/", "host": "https://r.example", "relativeurls": True},
        storage={"maintenance": {"readonly": {"enabled": True}}},
        catalog={"maxentries": 7},
    )
    settings = create_app(config)[context.SETTINGS]
    assert settings.prefix == "/reg"
    assert settings.host == "https://r.example"
    assert settings.relative_urls
    assert settings.read_only
    assert settings.catalog_max_entries == 7


async def test_upload_bodies_reach_storage_in_bounded_chunks(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    lengths: list[int | None] = []
    original = Uploads.append

    async def recording_append(
        self: Uploads,
        upload_id: str,
        body: Body,
        start: int | None = None,
        length: int | None = None,
    ) -> UploadStatus:
        lengths.append(length)

        async def recorded() -> Body:
            async for chunk in body:
                sizes.append(len(chunk))
                yield chunk

        return await original(self, upload_id, recorded(), start, length)

    monkeypatch.setattr(Uploads, "append", recording_append)
    resp = await client.post("/v2/foo/blobs/uploads/")
    data = b"z" * (5 * READ_CHUNK_SIZE + 11)

    async def body() -> Body:
        for i in range(0, len(data), 3 * READ_CHUNK_SIZE):
            yield data[i : i + 3 * READ_CHUNK_SIZE]

    location = URL(resp.headers["Location"]).path
    patched = await client.patch(location, data=body())
    assert patched.status == 202
    assert sum(sizes) == len(data)
    assert max(sizes) <= READ_CHUNK_SIZE
    # A chunked transfer encoding declares no length; a Content-Length is passed on as the hint.
    patched = await client.patch(URL(patched.headers["Location"]).path, data=b"y" * 1000)
    assert patched.status == 202
    assert lengths == [None, 1000]
    assert patched.headers["Range"] == f"0-{len(data) + 1000 - 1}"


async def test_stream_cut_short_closes_the_connection(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = await push_blob(client, "foo", b"short")

    async def lying_stat(self: LinkedBlobService, d: Digest) -> Descriptor:
        return Descriptor(d, 1000)

    monkeypatch.setattr(LinkedBlobService, "stat", lying_stat)
    resp = await client.get(f"/v2/foo/blobs/{digest}")
    assert resp.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()


async def test_upload_purging_runs_for_the_app_lifetime(make_client: MakeClient) -> None:
    client = await make_client(
        storage={"maintenance": {"uploadpurging": {"age": "1ms", "interval": "20ms"}}}
    )
    resp = await client.post("/v2/repo/blobs/uploads/")
    location = URL(resp.headers["Location"]).path
    for _ in range(300):
        if (await client.get(location)).status == 404:
            break
        await asyncio.sleep(0.02)
    resp = await client.get(location)
    assert resp.status == 404
    assert (await resp.json())["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"
