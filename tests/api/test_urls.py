"""Locations: absolute from the request, a proxy's forwarded headers or ``http.host``; or relative."""

from __future__ import annotations

import pytest

from tests.api.conftest import MakeClient
from tests.api.helpers import Client


async def _upload_location(client: Client, headers: dict[str, str] | None = None) -> str:
    resp = await client.post("/v2/foo/blobs/uploads/", headers=headers or {})
    assert resp.status == 202
    location: str = resp.headers["Location"]
    return location


async def test_from_request(client: Client) -> None:
    location = await _upload_location(client)
    assert location.startswith(f"http://127.0.0.1:{client.port}/v2/foo/blobs/uploads/")


@pytest.mark.parametrize(
    ("headers", "origin"),
    [
        ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "reg.example"}, "https://reg.example"),
        ({"X-Forwarded-Proto": "https, http"}, "https://127.0.0.1:{port}"),
        ({"X-Forwarded-Host": "a.example:8443, b.example"}, "http://a.example:8443"),
        ({"Forwarded": "proto=https;host=fw.example"}, "https://fw.example"),
        (
            {"Forwarded": 'host="fw.example:444"', "X-Forwarded-Proto": "https"},
            "https://fw.example:444",
        ),
        ({"Host": "vhost.example:5000"}, "http://vhost.example:5000"),
    ],
)
async def test_forwarded(client: Client, headers: dict[str, str], origin: str) -> None:
    location = await _upload_location(client, headers)
    assert location.startswith(origin.format(port=client.port) + "/v2/foo/blobs/uploads/")


async def test_configured_host_wins(make_client: MakeClient) -> None:
    client = await make_client(http={"host": "https://registry.example:5443/"})
    location = await _upload_location(client, {"X-Forwarded-Host": "ignored.example"})
    assert location.startswith("https://registry.example:5443/v2/foo/blobs/uploads/")


async def test_relative_urls(make_client: MakeClient) -> None:
    client = await make_client(http={"relativeurls": True, "prefix": "/p/"})
    resp = await client.post("/p/v2/foo/blobs/uploads/")
    assert resp.headers["Location"].startswith("/p/v2/foo/blobs/uploads/")
