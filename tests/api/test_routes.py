"""Path parsing: end-anchored patterns, NAME_INVALID (never 404) for bad names, 405 with Allow."""

from __future__ import annotations

import pytest
from yarl import URL

from cargohold.api.context import Kind
from cargohold.api.routes import split
from tests.api.conftest import MakeClient
from tests.api.helpers import Client, assert_error

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("", (Kind.BASE, [], "")),
        ("_catalog", (Kind.CATALOG, [], "")),
        ("foo/tags/list", (Kind.TAGS, ["foo"], "")),
        ("a/b/c/tags/list", (Kind.TAGS, ["a", "b", "c"], "")),
        ("foo/blobs/uploads/", (Kind.UPLOADS, ["foo"], "")),
        ("foo/blobs/uploads/abc", (Kind.UPLOAD, ["foo"], "abc")),
        (f"foo/blobs/{DIGEST}", (Kind.BLOB, ["foo"], DIGEST)),
        ("foo/manifests/latest", (Kind.MANIFEST, ["foo"], "latest")),
        (f"foo/referrers/{DIGEST}", (Kind.REFERRERS, ["foo"], DIGEST)),
        # Names may contain the literal words; the patterns anchor at the end.
        ("blobs/manifests/latest", (Kind.MANIFEST, ["blobs"], "latest")),
        ("x/blobs/uploads/manifests/v1", (Kind.MANIFEST, ["x", "blobs", "uploads"], "v1")),
        ("tags/tags/list", (Kind.TAGS, ["tags"], "")),
        # Decoding happens per segment, after the split.
        ("a%2Fb/manifests/v1", (Kind.MANIFEST, ["a/b"], "v1")),
        ("foo/manifests/sha256%3Aabc", (Kind.MANIFEST, ["foo"], "sha256:abc")),
        ("foo/blobs/uploads/%2e%2e", (Kind.UPLOAD, ["foo"], "..")),
    ],
)
def test_split(tail: str, expected: tuple[Kind, list[str], str]) -> None:
    assert split(tail) == expected


@pytest.mark.parametrize(
    "tail",
    [
        "foo",
        "foo/bar",
        "tags/list",
        "foo/tags/lis",
        "foo/tags/list/",
        "blobs/x",
        "manifests/x",
        "_catalog/",
        "blobs/uploads/",
        "foo/referrers",
    ],
)
def test_split_unknown(tail: str) -> None:
    assert split(tail) is None


@pytest.mark.parametrize(
    "raw_path",
    [
        "/v2/Foo/tags/list",
        "/v2/foo//bar/tags/list",
        "/v2/-foo/tags/list",
        "/v2/foo-/manifests/latest",
        "/v2/%2e%2e/tags/list",
        "/v2/foo/%2e%2e/manifests/latest",
        "/v2/foo%2Fbar/tags/list",
        "/v2/foo%2F..%2Fbar/tags/list",
        "/v2/fo%6F/tags/list%3F",
        "/v2/" + "a" * 256 + "/tags/list",
        f"/v2/UPPER/blobs/{DIGEST}",
        "/v2/x./manifests/latest",
    ],
)
async def test_bad_names_are_400_name_invalid(client: Client, raw_path: str) -> None:
    resp = await client.get(URL(raw_path, encoded=True))
    if raw_path.endswith("%3F"):
        # "list%3F" is not the literal "list": no endpoint, whatever the name.
        await assert_error(resp, 404, "UNSUPPORTED")
        return
    await assert_error(resp, 400, "NAME_INVALID")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/v2/", "GET, HEAD"),
        ("DELETE", "/v2/_catalog", "GET, HEAD"),
        ("PUT", "/v2/foo/tags/list", "GET, HEAD"),
        ("POST", f"/v2/foo/blobs/{DIGEST}", "DELETE, GET, HEAD"),
        ("PUT", f"/v2/foo/blobs/{DIGEST}", "DELETE, GET, HEAD"),
        ("GET", "/v2/foo/blobs/uploads/", "POST"),
        ("POST", "/v2/foo/blobs/uploads/abc", "DELETE, GET, HEAD, PATCH, PUT"),
        ("POST", "/v2/foo/manifests/latest", "DELETE, GET, HEAD, PUT"),
        ("PATCH", "/v2/foo/manifests/latest", "DELETE, GET, HEAD, PUT"),
        ("DELETE", f"/v2/foo/referrers/{DIGEST}", "GET, HEAD"),
    ],
)
async def test_unsupported_methods_are_405_with_allow(
    client: Client, method: str, path: str, allow: str
) -> None:
    resp = await client.request(method, path)
    await assert_error(resp, 405, "UNSUPPORTED")
    assert resp.headers["Allow"] == allow


async def test_bad_name_on_upload_start(client: Client) -> None:
    resp = await client.post(URL("/v2/x./blobs/uploads/", encoded=True))
    await assert_error(resp, 400, "NAME_INVALID")


async def test_literal_dot_segments_are_resolved_before_routing(client: Client) -> None:
    # The HTTP layer normalises /v2/foo/../bar to /v2/bar: ".." never reaches a name or storage.
    resp = await client.get(URL("/v2/foo/../bar/tags/list", encoded=True))
    entry = await assert_error(resp, 404, "NAME_UNKNOWN")
    assert entry["detail"] == {"name": "bar"}


@pytest.mark.parametrize(
    "path", ["/v2/_catalog", "/v2/foo/tags/list", f"/v2/foo/referrers/{DIGEST}"]
)
async def test_head_is_served_wherever_get_is(client: Client, path: str) -> None:
    get = await client.get(path)
    head = await client.head(path)
    assert head.status == get.status
    assert head.headers["Content-Length"] == str(len(await get.read()))
    assert await head.read() == b""


async def test_method_is_checked_before_the_name(client: Client) -> None:
    resp = await client.post("/v2/BAD/tags/list")
    await assert_error(resp, 405, "UNSUPPORTED")


@pytest.mark.parametrize("path", ["/v2/foo", "/v2/foo/bar/baz", "/v2/foo/tags/lists"])
async def test_unknown_endpoints_are_404(client: Client, path: str) -> None:
    resp = await client.get(path)
    await assert_error(resp, 404, "UNSUPPORTED")


async def test_paths_outside_v2_are_plain_404(client: Client) -> None:
    resp = await client.get("/v3/")
    assert resp.status == 404
    assert resp.headers["Docker-Distribution-API-Version"] == "registry/2.0"


async def test_v2_without_slash_is_the_base(client: Client) -> None:
    resp = await client.get("/v2")
    assert resp.status == 200
    assert await resp.json() == {}


async def test_prefix(make_client: MakeClient) -> None:
    client = await make_client(http={"prefix": "/registry"})
    resp = await client.get("/registry/v2/")
    assert resp.status == 200
    assert (await client.get("/v2/")).status == 404
    resp = await client.post("/registry/v2/foo/blobs/uploads/")
    assert resp.status == 202
    assert URL(resp.headers["Location"]).path.startswith("/registry/v2/foo/blobs/uploads/")
    resp = await client.get(URL("/registry/v2/BAD/tags/list"))
    await assert_error(resp, 400, "NAME_INVALID")
