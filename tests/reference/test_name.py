"""Repository name and tag grammars (OCI distribution-spec §Pulling manifests)."""

from __future__ import annotations

import pytest

from cargohold.errors import NameInvalid, TagInvalid
from cargohold.reference import NAME_TOTAL_LENGTH_MAX, validate_name, validate_tag

VALID_NAMES = [
    "a",
    "0",
    "library/ubuntu",
    "a/b/c/d/e",
    "foo.bar",
    "foo_bar",
    "foo-bar",
    "a__b",  # a double underscore is one separator
    "a---b",  # the grammar's separator is -+, so dashes may repeat
    "a.b-c_d__e",
    "123/456",
    "a" * NAME_TOTAL_LENGTH_MAX,
    "/".join(["abc"] * 63) + "/abc",  # 255 characters across 64 components
]

INVALID_NAMES = [
    pytest.param("", id="empty"),
    pytest.param("A", id="upper"),
    pytest.param("Library/ubuntu", id="upper-first"),
    pytest.param("library/Ubuntu", id="upper-second"),
    pytest.param("..", id="dotdot"),
    pytest.param("a/../b", id="dotdot-component"),
    pytest.param("a/..", id="dotdot-last"),
    pytest.param(".", id="dot"),
    pytest.param("a/./b", id="dot-component"),
    pytest.param("%2e%2e", id="pct-dotdot"),
    pytest.param("a/%2e%2e/b", id="pct-dotdot-component"),
    pytest.param("a%2fb", id="pct-slash"),
    pytest.param("a//b", id="empty-component"),
    pytest.param("/a", id="leading-slash"),
    pytest.param("a/", id="trailing-slash"),
    pytest.param("-a", id="leading-dash"),
    pytest.param("a-", id="trailing-dash"),
    pytest.param(".a", id="leading-dot"),
    pytest.param("a.", id="trailing-dot"),
    pytest.param("_a", id="leading-underscore"),
    pytest.param("a_", id="trailing-underscore"),
    pytest.param("a/-b", id="component-leading-dash"),
    pytest.param("a___b", id="triple-underscore"),
    pytest.param("a..b", id="double-dot"),
    pytest.param("a.-b", id="mixed-separators"),
    pytest.param("a_-b", id="underscore-dash"),
    pytest.param("a" * (NAME_TOTAL_LENGTH_MAX + 1), id="256-chars"),
    pytest.param("/".join(["abc"] * 64) + "d", id="256-with-slashes"),
    pytest.param("ümlaut", id="unicode"),
    pytest.param("\uff41bc", id="fullwidth"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("a\r\nb", id="crlf"),
    pytest.param("a\n", id="trailing-newline"),
    pytest.param("\na", id="leading-newline"),
    pytest.param("a b", id="space"),
    pytest.param("a:b", id="colon"),
    pytest.param("a@b", id="at"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("a\tb", id="tab"),
]


@pytest.mark.parametrize("name", VALID_NAMES)
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_names(name: str) -> None:
    with pytest.raises(NameInvalid) as info:
        validate_name(name)
    assert info.value.detail == {"name": name[:300]}


def test_name_length_counts_the_prefix() -> None:
    name = "a" * 200
    assert validate_name(name, prefix_length=NAME_TOTAL_LENGTH_MAX - 200) == name
    with pytest.raises(NameInvalid, match="longer than 255"):
        validate_name(name, prefix_length=NAME_TOTAL_LENGTH_MAX - 199)


def test_huge_name_detail_is_truncated() -> None:
    with pytest.raises(NameInvalid) as info:
        validate_name("a" * 100_000)
    assert info.value.detail == {"name": "a" * 300}


VALID_TAGS = [
    "latest",
    "v1.0.0",
    "1",
    "_",
    "A",
    "UPPER-case_Mixed.1",
    "_leading-underscore",
    "a" * 128,
    "0" + "-" * 127,
]

INVALID_TAGS = [
    pytest.param("", id="empty"),
    pytest.param(".hidden", id="leading-dot"),
    pytest.param("-flag", id="leading-dash"),
    pytest.param("a" * 129, id="129-chars"),
    pytest.param("a/b", id="slash"),
    pytest.param("a:b", id="colon"),
    pytest.param("sha256:" + "a" * 64, id="digest"),
    pytest.param("a b", id="space"),
    pytest.param("é", id="unicode"),
    pytest.param("latest\n", id="trailing-newline"),
    pytest.param("\nlatest", id="leading-newline"),
    pytest.param("a\x00", id="nul"),
    pytest.param("a\r\n", id="crlf"),
    pytest.param("a+b", id="plus"),
]


@pytest.mark.parametrize("tag", VALID_TAGS)
def test_valid_tags(tag: str) -> None:
    assert validate_tag(tag) == tag


@pytest.mark.parametrize("tag", INVALID_TAGS)
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(TagInvalid) as info:
        validate_tag(tag)
    assert info.value.detail == {"tag": tag[:300]}
