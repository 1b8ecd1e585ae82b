"""Fixtures of the S3 driver tests: drivers on the session's SeaweedFS, each under its own root."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiobotocore.session import AioSession

from cargohold.storage.driver.s3 import S3Driver, from_parameters
from cargohold.testing.seaweedfs import SeaweedFS

MiB = 1 << 20


@pytest.fixture(scope="session")
def session() -> AioSession:
    """One SDK session for every driver: parsing the S3 service model once saves ~0.1 s each."""
    return AioSession()


@pytest.fixture(scope="session")
def raw(seaweedfs: SeaweedFS) -> Iterator[Any]:
    """A plain botocore client of the server, to look at buckets behind the driver's back."""
    client = seaweedfs.client()
    yield client
    client.close()


def make_driver(seaweedfs: SeaweedFS, session: AioSession, root: str, **params: Any) -> S3Driver:
    """A driver under ``root`` with the smallest parts S3 allows, so tests stay small."""
    return from_parameters(
        seaweedfs.driver_parameters(rootdirectory=root, chunksize=5 * MiB, **params), session
    )


@pytest.fixture
def root() -> str:
    return f"/s3-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def s3(seaweedfs: SeaweedFS, session: AioSession, root: str) -> AsyncIterator[S3Driver]:
    d = make_driver(seaweedfs, session, root)
    yield d
    await d.aclose()


def uploads_under(raw: Any, bucket: str, prefix: str) -> list[str]:
    """Keys with an open multipart upload under ``prefix``."""
    out = raw.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return [upload["Key"] for upload in out.get("Uploads", [])]
