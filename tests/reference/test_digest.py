"""Digest parsing, hashing and incremental digesters."""

from __future__ import annotations

import hashlib
from dataclasses import FrozenInstanceError

import pytest

from cargohold.errors import DigestInvalid, DigestUnsupported
from cargohold.reference import ALGORITHMS, CANONICAL, Digest, Digester, is_digest, new_hasher

HEX256 = hashlib.sha256(b"x").hexdigest()
HEX512 = hashlib.sha512(b"x").hexdigest()


@pytest.mark.parametrize(
    ("value", "algorithm", "hex_"),
    [
        (f"sha256:{HEX256}", "sha256", HEX256),
        (f"sha512:{HEX512}", "sha512", HEX512),
    ],
)
def test_parse_valid(value: str, algorithm: str, hex_: str) -> None:
    d = Digest.parse(value)
    assert (d.algorithm, d.hex) == (algorithm, hex_)
    assert str(d) == value


INVALID = [
    pytest.param("", id="empty"),
    pytest.param("sha256", id="no-colon"),
    pytest.param("sha256:", id="no-hex"),
    pytest.param(f":{HEX256}", id="no-algorithm"),
    pytest.param(HEX256, id="bare-hex"),
    pytest.param("sha256:totallywrong", id="totallywrong"),
    pytest.param(f"sha256:{HEX256[:-1]}", id="63-hex"),
    pytest.param(f"sha256:{HEX256}0", id="65-hex"),
    pytest.param(f"sha256:{HEX256.upper()}", id="uppercase-hex"),
    pytest.param(f"SHA256:{HEX256}", id="uppercase-algorithm"),
    pytest.param(f"sha256:{HEX256}\n", id="trailing-newline"),
    pytest.param(f" sha256:{HEX256}", id="leading-space"),
    pytest.param(f"sha256::{HEX256}", id="double-colon"),
    pytest.param(f"sha512:{HEX256}", id="sha512-short"),
    pytest.param(f"sha256:{'g' * 64}", id="non-hex"),
    pytest.param(f"sha256:{HEX256[:-1]}=", id="encoded-not-hex"),
    pytest.param(f"sha-:{HEX256}", id="dangling-separator"),
]


@pytest.mark.parametrize("value", INVALID)
def test_parse_invalid(value: str) -> None:
    with pytest.raises(DigestInvalid) as info:
        Digest.parse(value)
    assert type(info.value) is DigestInvalid
    assert info.value.detail == {"digest": value}


@pytest.mark.parametrize(
    "value",
    [
        "md5:" + "a" * 32,
        "sha384:" + "a" * 96,
        "blake3:" + "a" * 64,
        "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
    ],
)
def test_parse_unknown_algorithm_is_unsupported(value: str) -> None:
    with pytest.raises(DigestUnsupported, match="unsupported digest algorithm"):
        Digest.parse(value)


def test_detail_is_truncated() -> None:
    with pytest.raises(DigestInvalid) as info:
        Digest.parse("sha256:" + "a" * 10_000)
    assert info.value.detail == {"digest": ("sha256:" + "a" * 10_000)[:200]}


def test_from_bytes_matches_hashlib() -> None:
    assert Digest.from_bytes(b"x") == Digest("sha256", HEX256)
    assert Digest.from_bytes(b"x", "sha512") == Digest("sha512", HEX512)
    assert CANONICAL == "sha256"
    assert ALGORITHMS == {"sha256": 64, "sha512": 128}


def test_digest_is_frozen_hashable_and_ordered() -> None:
    a, b = Digest.parse("sha256:" + "0" * 64), Digest.parse("sha256:" + "f" * 64)
    assert a < b
    assert len({a, Digest.parse(str(a))}) == 1
    with pytest.raises(FrozenInstanceError):
        a.hex = "0"  # type: ignore[misc]


def test_is_digest() -> None:
    assert is_digest(f"sha256:{HEX256}")
    assert is_digest("anything:else")
    assert not is_digest("latest")


def test_unknown_algorithm_hasher_and_digester() -> None:
    with pytest.raises(DigestUnsupported):
        new_hasher("md5")
    with pytest.raises(DigestUnsupported):
        Digester("md5")
    with pytest.raises(DigestUnsupported):
        Digest.from_bytes(b"", "sha1")


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_digester_incremental_equals_one_shot(algorithm: str) -> None:
    data = bytes(range(256)) * 100
    d = Digester(algorithm)
    assert d.offset == 0
    assert d.digest() == Digest.from_bytes(b"", algorithm)
    for i in range(0, len(data), 777):
        d.update(data[i : i + 777])
    assert d.offset == len(data)
    assert d.digest() == Digest.from_bytes(data, algorithm)
    # digest() does not finalize: more data may follow.
    d.update(b"tail")
    assert d.digest() == Digest.from_bytes(data + b"tail", algorithm)
    assert d.offset == len(data) + 4
