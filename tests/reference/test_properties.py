"""Property tests of the name, tag and digest grammars."""

from __future__ import annotations

import re
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from cargohold.errors import DigestInvalid, NameInvalid, TagInvalid
from cargohold.reference import (
    ALGORITHMS,
    NAME_TOTAL_LENGTH_MAX,
    Digest,
    Digester,
    validate_name,
    validate_tag,
)

# No deadline: these assert behaviour, not speed.
PROPERTY = settings(deadline=None, max_examples=150)

# Strategies are built from the grammar's pieces rather than st.from_regex, which is slow.
ALNUM = string.ascii_lowercase + string.digits
alnum_runs = st.text(alphabet=ALNUM, min_size=1, max_size=4)
separators = st.sampled_from([".", "_", "__", "-", "--", "---"])
components = st.builds(
    lambda first, rest: first + "".join(sep + run for sep, run in rest),
    alnum_runs,
    st.lists(st.tuples(separators, alnum_runs), max_size=3),
)
names = st.lists(components, min_size=1, max_size=8).map("/".join)
TAG_FIRST = string.ascii_letters + string.digits + "_"
tags = st.builds(
    str.__add__,
    st.sampled_from(TAG_FIRST),
    st.text(alphabet=TAG_FIRST + ".-", max_size=127),
)
NAME_CHARS = set(string.ascii_lowercase + string.digits + "._-/")


@PROPERTY
@given(name=names)
def test_generated_names_are_valid(name: str) -> None:
    assert validate_name(name) == name


@PROPERTY
@given(name=names, data=st.data())
def test_names_with_uppercase_are_invalid(name: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(min_value=0, max_value=len(name)))
    upper = data.draw(st.sampled_from(string.ascii_uppercase))
    try:
        validate_name(name[:at] + upper + name[at:])
    except NameInvalid:
        return
    raise AssertionError("accepted a name with an uppercase letter")


@PROPERTY
@given(name=names, data=st.data())
def test_names_with_foreign_characters_are_invalid(name: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(min_value=0, max_value=len(name)))
    bad = data.draw(st.characters().filter(lambda c: c not in NAME_CHARS))
    try:
        validate_name(name[:at] + bad + name[at:])
    except NameInvalid:
        return
    raise AssertionError(f"accepted a name containing {bad!r}")


@PROPERTY
@given(text=st.text(max_size=300))
def test_arbitrary_names_accepted_only_if_well_formed(text: str) -> None:
    try:
        assert validate_name(text) == text
    except NameInvalid:
        return
    assert set(text) <= NAME_CHARS
    assert 0 < len(text) <= NAME_TOTAL_LENGTH_MAX
    for component in text.split("/"):
        assert component[:1].isalnum()
        assert component[-1:].isalnum()
        assert "___" not in component


@PROPERTY
@given(tag=tags)
def test_generated_tags_are_valid(tag: str) -> None:
    assert validate_tag(tag) == tag


@PROPERTY
@given(tag=tags, extra=st.text(alphabet=TAG_FIRST + ".-", min_size=1, max_size=50))
def test_tags_over_128_characters_are_invalid(tag: str, extra: str) -> None:
    long_tag = (tag + extra * 129)[:129]
    try:
        validate_tag(long_tag)
    except TagInvalid:
        return
    raise AssertionError("accepted a 129-character tag")


@PROPERTY
@given(text=st.text(max_size=200))
def test_arbitrary_tags_accepted_only_if_well_formed(text: str) -> None:
    try:
        validate_tag(text)
    except TagInvalid:
        return
    assert re.fullmatch(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", text, flags=re.ASCII)


@PROPERTY
@given(data=st.binary(max_size=256), algorithm=st.sampled_from(sorted(ALGORITHMS)))
def test_digest_string_round_trip(data: bytes, algorithm: str) -> None:
    d = Digest.from_bytes(data, algorithm)
    assert Digest.parse(str(d)) == d
    assert len(d.hex) == ALGORITHMS[algorithm]


@PROPERTY
@given(text=st.text(max_size=200) | st.from_regex(r"[a-z0-9+._-]{1,10}:[a-zA-Z0-9=_-]{1,140}"))
def test_digest_parse_accepts_only_canonical_strings(text: str) -> None:
    try:
        d = Digest.parse(text)
    except DigestInvalid:  # includes DigestUnsupported
        return
    assert str(d) == text


@PROPERTY
@given(
    chunks=st.lists(st.binary(max_size=300), max_size=20),
    algorithm=st.sampled_from(sorted(ALGORITHMS)),
)
def test_digester_incremental_equals_one_shot(chunks: list[bytes], algorithm: str) -> None:
    digester = Digester(algorithm)
    for chunk in chunks:
        digester.update(chunk)
    whole = b"".join(chunks)
    assert digester.offset == len(whole)
    assert digester.digest() == Digest.from_bytes(whole, algorithm)
