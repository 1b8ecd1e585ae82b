"""Tag and catalog listings and their ``n``/``last`` pagination."""

from __future__ import annotations

import re

import pytest

from cargohold.api.context import REGISTRY
from cargohold.storage.registry import StorageRegistry
from tests.api.conftest import MakeClient
from tests.api.helpers import Client, assert_error, push_blob, push_image

TAGS = ["a", "b", "c", "d", "e"]


@pytest.fixture
async def tagged(client: Client) -> Client:
    for tag in reversed(TAGS):
        await push_image(client, "foo", tag, seed=tag)
    return client


def next_link(header: str | None) -> str | None:
    if header is None:
        return None
    m = re.fullmatch(r'<([^>]+)>; rel="next"', header)
    assert m is not None, header
    return m.group(1)


@pytest.mark.parametrize(
    ("query", "tags", "link"),
    [
        ("", TAGS, None),
        ("?n=2", ["a", "b"], "/v2/foo/tags/list?n=2&last=b"),
        ("?n=2&last=b", ["c", "d"], "/v2/foo/tags/list?n=2&last=d"),
        ("?n=2&last=d", ["e"], None),
        ("?n=5", TAGS, None),
        ("?n=4", ["a", "b", "c", "d"], "/v2/foo/tags/list?n=4&last=d"),
        ("?n=10", TAGS, None),
        ("?n=1000000000000", TAGS, None),
        ("?n=0", [], None),
        ("?n=0&last=a", [], None),
        ("?last=b", ["c", "d", "e"], None),
        ("?last=bb", ["c", "d", "e"], None),
        ("?last=z", [], None),
        ("?n=3&last=z", [], None),
        ("?last=", TAGS, None),
        ("?n=", TAGS, None),
    ],
)
async def test_tags_pagination(
    tagged: Client, query: str, tags: list[str], link: str | None
) -> None:
    resp = await tagged.get(f"/v2/foo/tags/list{query}")
    assert resp.status == 200
    assert await resp.json() == {"name": "foo", "tags": tags}
    assert next_link(resp.headers.get("Link")) == link


# "\u0661" is an Arabic-Indic digit one, which str.isdigit() and int() would accept.
@pytest.mark.parametrize("n", ["-1", "abc", "1.5", "+2", " 2", "2a", "\u0661"])
async def test_tags_bad_n_is_400(tagged: Client, n: str) -> None:
    resp = await tagged.get("/v2/foo/tags/list", params={"n": n})
    await assert_error(resp, 400, "PAGINATION_NUMBER_INVALID")


async def test_following_links_visits_every_tag_once(tagged: Client) -> None:
    seen: list[str] = []
    url: str | None = "/v2/foo/tags/list?n=2"
    while url is not None:
        resp = await tagged.get(url)
        seen.extend((await resp.json())["tags"])
        url = next_link(resp.headers.get("Link"))
    assert seen == TAGS


async def test_tags_are_sorted_asciibetically(client: Client) -> None:
    for tag in ("v10", "V2", "latest", "1.2", "1.2.3", "_x"):
        await push_image(client, "foo", tag, seed=tag)
    resp = await client.get("/v2/foo/tags/list")
    assert (await resp.json())["tags"] == ["1.2", "1.2.3", "V2", "_x", "latest", "v10"]


async def test_tags_of_unknown_repository_is_404(client: Client) -> None:
    await assert_error(await client.get("/v2/nope/tags/list"), 404, "NAME_UNKNOWN")


async def test_tags_of_repository_without_tags(client: Client) -> None:
    await push_blob(client, "foo", b"only a blob")
    resp = await client.get("/v2/foo/tags/list")
    assert resp.status == 200
    assert await resp.json() == {"name": "foo", "tags": []}


async def test_link_honours_prefix(make_client: MakeClient) -> None:
    client = await make_client(http={"prefix": "/r/"})
    for tag in ("a", "b"):
        await push_image(client, "foo", tag, seed=tag, prefix="/r")
    resp = await client.get("/r/v2/foo/tags/list?n=1")
    assert next_link(resp.headers.get("Link")) == "/r/v2/foo/tags/list?n=1&last=a"


REPOS = ["alpha", "beta", "beta/sub", "gamma"]


@pytest.fixture
async def repos(client: Client) -> Client:
    for name in REPOS:
        await push_image(client, name, "latest")
    return client


@pytest.mark.parametrize(
    ("query", "expected", "link"),
    [
        ("", REPOS, None),
        ("?n=2", ["alpha", "beta"], "/v2/_catalog?n=2&last=beta"),
        ("?n=2&last=beta", ["beta/sub", "gamma"], None),
        ("?n=3&last=alpha", ["beta", "beta/sub", "gamma"], None),
        ("?n=0", [], None),
        ("?last=gamma", [], None),
        ("?last=zzz", [], None),
        ("?n=1000", REPOS, None),
    ],
)
async def test_catalog(repos: Client, query: str, expected: list[str], link: str | None) -> None:
    resp = await repos.get(f"/v2/_catalog{query}")
    assert resp.status == 200
    assert await resp.json() == {"repositories": expected}
    assert next_link(resp.headers.get("Link")) == link


@pytest.mark.parametrize("n", ["-1", "x", "1001", "99999999999999999999"])
async def test_catalog_bad_n_is_400(repos: Client, n: str) -> None:
    resp = await repos.get("/v2/_catalog", params={"n": n})
    await assert_error(resp, 400, "PAGINATION_NUMBER_INVALID")


async def test_empty_catalog(client: Client) -> None:
    resp = await client.get("/v2/_catalog")
    assert await resp.json() == {"repositories": []}


async def test_catalog_maxentries(make_client: MakeClient) -> None:
    client = await make_client(catalog={"maxentries": 2})
    for name in REPOS:
        await push_image(client, name, "latest")
    resp = await client.get("/v2/_catalog")
    assert await resp.json() == {"repositories": ["alpha", "beta"]}
    assert next_link(resp.headers.get("Link")) == "/v2/_catalog?n=2&last=beta"
    await assert_error(await client.get("/v2/_catalog?n=3"), 400, "PAGINATION_NUMBER_INVALID")


async def test_a_kept_tag_list_follows_new_tags(client: Client) -> None:
    await push_image(client, "foo", "a", seed="a")
    registry = client.app[REGISTRY]
    assert isinstance(registry, StorageRegistry)
    registry.tag_listings.settle = 0.0  # keep lists at once, as after two quiet seconds
    for _ in range(3):
        resp = await client.get("/v2/foo/tags/list")
        assert await resp.json() == {"name": "foo", "tags": ["a"]}
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    await push_image(client, "foo", "b", seed="b")
    for _ in range(2):
        resp = await client.get("/v2/foo/tags/list")
        assert await resp.json() == {"name": "foo", "tags": ["a", "b"]}
    await client.delete(f"/v2/foo/manifests/{await tag_digest(client, 'a')}")
    assert await (await client.get("/v2/foo/tags/list")).json() == {"name": "foo", "tags": ["b"]}


async def tag_digest(client: Client, tag: str) -> str:
    resp = await client.head(
        f"/v2/foo/manifests/{tag}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert resp.status == 200
    return resp.headers["Docker-Content-Digest"]
