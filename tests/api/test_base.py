"""``/v2/``, the headers every response carries, and the request id."""

from __future__ import annotations

import pytest

from tests.api.conftest import MakeClient
from tests.api.helpers import Client, assert_error


async def test_version_check(client: Client) -> None:
    resp = await client.get("/v2/")
    assert resp.status == 200
    assert await resp.json() == {}
    assert resp.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert resp.headers["Content-Type"].startswith("application/json")


async def test_version_check_head_has_no_body(client: Client) -> None:
    resp = await client.head("/v2/")
    assert resp.status == 200
    assert await resp.read() == b""
    assert resp.headers["Docker-Distribution-API-Version"] == "registry/2.0"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v2/"), ("GET", "/v2/nope/tags/list"), ("PUT", "/v2/"), ("GET", "/elsewhere")],
)
async def test_api_version_header_on_every_response(client: Client, method: str, path: str) -> None:
    resp = await client.request(method, path)
    assert resp.headers["Docker-Distribution-API-Version"] == "registry/2.0"


async def test_request_id_is_echoed(client: Client) -> None:
    resp = await client.get("/v2/", headers={"X-Request-Id": "abc-123"})
    assert resp.headers["X-Request-Id"] == "abc-123"


@pytest.mark.parametrize("incoming", [None, "", "x" * 129, "bad id", "a\tb", "ünï"])
async def test_request_id_is_generated_when_absent_or_unsafe(
    client: Client, incoming: str | None
) -> None:
    headers = {} if incoming is None else {"X-Request-Id": incoming}
    first = await client.get("/v2/", headers=headers)
    second = await client.get("/v2/", headers=headers)
    rid = first.headers["X-Request-Id"]
    assert rid != incoming
    assert len(rid) == 32
    assert rid != second.headers["X-Request-Id"]


async def test_request_id_on_errors(client: Client) -> None:
    resp = await client.get("/v2/nope/tags/list", headers={"X-Request-Id": "trace-1"})
    await assert_error(resp, 404, "NAME_UNKNOWN")
    assert resp.headers["X-Request-Id"] == "trace-1"


async def test_configured_headers(make_client: MakeClient) -> None:
    client = await make_client(
        http={"headers": {"X-Content-Type-Options": ["nosniff"], "X-Multi": ["a", "b"]}}
    )
    for path in ("/v2/", "/v2/nope/tags/list", "/v2/BAD/tags/list"):
        resp = await client.get(path)
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers.getall("X-Multi") == ["a", "b"]


async def test_configured_headers_do_not_override_the_handler(make_client: MakeClient) -> None:
    client = await make_client(http={"headers": {"Content-Type": ["text/plain"]}})
    resp = await client.get("/v2/")
    assert resp.headers.getall("Content-Type") == ["application/json; charset=utf-8"]
