"""``storage.maintenance.readonly``: every write under /v2/ is refused, reads keep working."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import MakeClient
from tests.api.helpers import Client, assert_error, push_image, sha256

DIGEST = sha256(b"x")


@pytest.fixture
async def seeded_read_only(make_client: MakeClient, tmp_path: Path) -> tuple[Client, str]:
    """A filesystem root written by a normal registry, then served read-only."""
    driver = {"filesystem": {"rootdirectory": str(tmp_path)}}
    writer = await make_client(driver)
    _, digest = await push_image(writer, "foo", "v1")
    reader = await make_client(driver, storage={"maintenance": {"readonly": {"enabled": True}}})
    return reader, digest


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/foo/blobs/uploads/"),
        ("POST", f"/v2/foo/blobs/uploads/?digest={DIGEST}"),
        ("POST", f"/v2/foo/blobs/uploads/?mount={DIGEST}&from=bar"),
        ("PATCH", "/v2/foo/blobs/uploads/00000000-0000-0000-0000-000000000000"),
        ("PUT", f"/v2/foo/blobs/uploads/00000000-0000-0000-0000-000000000000?digest={DIGEST}"),
        ("DELETE", "/v2/foo/blobs/uploads/00000000-0000-0000-0000-000000000000"),
        ("PUT", "/v2/foo/manifests/v1"),
        ("DELETE", "/v2/foo/manifests/v1"),
        ("DELETE", f"/v2/foo/blobs/{DIGEST}"),
        ("POST", "/v2/"),
    ],
)
async def test_writes_are_refused(
    seeded_read_only: tuple[Client, str], method: str, path: str
) -> None:
    client, _ = seeded_read_only
    resp = await client.request(method, path, data=b"{}")
    entry = await assert_error(resp, 405, "UNSUPPORTED")
    assert entry["message"] == "registry is in read-only mode"


async def test_reads_work(seeded_read_only: tuple[Client, str]) -> None:
    client, digest = seeded_read_only
    assert (await client.get("/v2/")).status == 200
    resp = await client.get("/v2/foo/manifests/v1")
    assert resp.status == 200
    assert resp.headers["Docker-Content-Digest"] == digest
    assert (await client.head(f"/v2/foo/manifests/{digest}")).status == 200
    assert (await (await client.get("/v2/foo/tags/list")).json())["tags"] == ["v1"]
    assert (await (await client.get("/v2/_catalog")).json())["repositories"] == ["foo"]
    assert (await client.get(f"/v2/foo/referrers/{digest}")).status == 200


async def test_writes_outside_v2_are_not_turned_into_read_only_errors(
    seeded_read_only: tuple[Client, str],
) -> None:
    client, _ = seeded_read_only
    resp = await client.post("/elsewhere")
    assert resp.status == 404
