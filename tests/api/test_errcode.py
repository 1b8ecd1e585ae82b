"""The error-code registry, the exception table and the rendering of unmapped failures."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aiohttp import web

from cargohold import errors
from cargohold.api import context, create_app
from cargohold.api.errcode import ERROR_CODES, EXCEPTION_CODES, error_body, resolve
from cargohold.storage.base import Repository
from tests.api.conftest import make_config
from tests.api.helpers import Client, assert_error

# OCI distribution-spec §Error Codes plus Distribution's additions, with the statuses we send.
SPEC_CODES = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "TOOMANYREQUESTS": 429,
    "RANGE_INVALID": 416,
    "TAG_INVALID": 400,
    "PAGINATION_NUMBER_INVALID": 400,
    "UNAVAILABLE": 503,
    "UNKNOWN": 500,
}


def test_registered_codes_and_statuses() -> None:
    assert {code: c.status for code, c in ERROR_CODES.items()} == SPEC_CODES
    for code, registered in ERROR_CODES.items():
        assert registered.code == code
        assert code.replace("_", "").isalpha()
        assert code.isupper()
        assert registered.message
        assert registered.description


@pytest.mark.parametrize(
    ("exc", "code", "status"),
    [
        (errors.NameInvalid(), "NAME_INVALID", 400),
        (errors.TagInvalid(), "TAG_INVALID", 400),
        (errors.DigestInvalid(), "DIGEST_INVALID", 400),
        (errors.DigestUnsupported(), "DIGEST_INVALID", 400),
        (errors.SizeInvalid(), "SIZE_INVALID", 400),
        (errors.ManifestInvalid(), "MANIFEST_INVALID", 400),
        (errors.ManifestTooLarge(), "MANIFEST_INVALID", 413),
        (errors.ManifestBlobUnknown(), "MANIFEST_BLOB_UNKNOWN", 400),
        (errors.BlobUploadInvalid(), "BLOB_UPLOAD_INVALID", 400),
        (errors.RangeInvalid(size=3), "RANGE_INVALID", 416),
        (errors.RangeNotSatisfiable(size=3), "RANGE_INVALID", 416),
        (errors.PaginationInvalid(), "PAGINATION_NUMBER_INVALID", 400),
        (errors.InvalidInput(), "UNKNOWN", 400),
        (errors.NameUnknown(), "NAME_UNKNOWN", 404),
        (errors.BlobUnknown(), "BLOB_UNKNOWN", 404),
        (errors.BlobUploadUnknown(), "BLOB_UPLOAD_UNKNOWN", 404),
        (errors.ManifestUnknown(), "MANIFEST_UNKNOWN", 404),
        (errors.NotFound(), "UNKNOWN", 404),
        (errors.Unsupported(), "UNSUPPORTED", 405),
        (errors.ReadOnly(), "UNSUPPORTED", 405),
        (errors.Unavailable(), "UNAVAILABLE", 503),
        (errors.StorageError(), "UNKNOWN", 500),
        (errors.PathNotFound(), "UNKNOWN", 500),
        (errors.InvalidPath(), "UNKNOWN", 500),
        (errors.InvalidOffset(), "UNKNOWN", 500),
        (errors.CargoholdError(), "UNKNOWN", 500),
    ],
)
def test_exception_table(exc: errors.CargoholdError, code: str, status: int) -> None:
    resolved, got_status, _ = resolve(exc)
    assert (resolved.code, got_status) == (code, status)


def _all_subclasses(cls: type[errors.CargoholdError]) -> list[type[errors.CargoholdError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_all_subclasses(sub))
    return out


def test_every_domain_error_resolves_through_its_mro() -> None:
    for cls in _all_subclasses(errors.CargoholdError):
        code, status, _ = resolve(cls())
        assert code.code in ERROR_CODES
        assert 400 <= status < 600

    class Custom(errors.ManifestUnknown):
        """A subclass nobody mapped."""

    assert resolve(Custom())[0].code == "MANIFEST_UNKNOWN"
    assert all(m.code in ERROR_CODES for m in EXCEPTION_CODES.values())


def test_range_errors_carry_headers() -> None:
    assert resolve(errors.RangeInvalid(size=10))[2] == {"Range": "0-9"}
    assert resolve(errors.RangeInvalid(size=0))[2] == {"Range": "0-0"}
    assert resolve(errors.RangeNotSatisfiable(size=7))[2] == {"Content-Range": "bytes */7"}


def test_error_body_is_oci_json() -> None:
    body = json.loads(error_body("BLOB_UNKNOWN", "no such blob", {"digest": "sha256:x"}))
    assert body == {
        "errors": [
            {"code": "BLOB_UNKNOWN", "message": "no such blob", "detail": {"digest": "sha256:x"}}
        ]
    }


class _ExplodingRegistry:
    """A Registry whose every call fails the way a bug or an unexpected backend error would."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def repository(self, name: str) -> Repository:
        raise self.exc

    async def catalog(self, n: int | None, last: str | None) -> list[str]:
        raise self.exc


async def _exploding_client(aiohttp_client: Any, exc: Exception) -> Client:
    app = create_app(make_config())
    app[context.REGISTRY] = _ExplodingRegistry(exc)
    client: Client = await aiohttp_client(app)
    return client


@pytest.mark.parametrize(
    "exc",
    [RuntimeError("secret internals /etc/passwd"), errors.PathNotFound("secret internals")],
)
async def test_unmapped_errors_are_logged_500_without_traceback(
    aiohttp_client: Any, caplog: pytest.LogCaptureFixture, exc: Exception
) -> None:
    client = await _exploding_client(aiohttp_client, exc)
    with caplog.at_level(logging.ERROR, logger="cargohold.api"):
        resp = await client.get("/v2/_catalog", headers={"X-Request-Id": "req-42"})
        entry = await assert_error(resp, 500, "UNKNOWN")
    text = json.dumps(entry)
    assert "Traceback" not in text
    assert "secret" not in text
    assert entry["detail"] == {"request_id": "req-42"}
    assert entry["message"] == "internal server error (request id req-42)"
    assert resp.headers["X-Request-Id"] == "req-42"
    assert any("req-42" in r.getMessage() for r in caplog.records)
    assert any(r.exc_info is not None for r in caplog.records)


async def test_handler_errors_on_repository_routes_are_mapped(aiohttp_client: Any) -> None:
    client = await _exploding_client(aiohttp_client, errors.Unavailable("backend down"))
    resp = await client.get("/v2/foo/tags/list")
    entry = await assert_error(resp, 503, "UNAVAILABLE")
    assert entry["message"] == "backend down"


async def test_head_errors_have_no_body(client: Client) -> None:
    resp = await client.head("/v2/foo/manifests/nothere")
    assert resp.status == 404
    assert await resp.read() == b""
    assert int(resp.headers["Content-Length"]) > 0


def test_app_keys_hold_real_services() -> None:
    app = create_app(make_config())
    assert isinstance(app, web.Application)
    assert app[context.CACHE] is None
    assert app[context.DRIVER].name == "inmemory"
