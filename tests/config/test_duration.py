"""Go duration strings, plain seconds, and the Go-style rendering used in dumps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cargohold.config import format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("300ms", timedelta(milliseconds=300)),
        ("1.5h", timedelta(minutes=90)),
        ("10m30s", timedelta(minutes=10, seconds=30)),
        ("168h", timedelta(days=7)),
        ("2h10m", timedelta(hours=2, minutes=10)),
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("+5s", timedelta(seconds=5)),
        (".5s", timedelta(milliseconds=500)),
        ("1500us", timedelta(microseconds=1500)),
        ("1500µs", timedelta(microseconds=1500)),
        ("2000ns", timedelta(microseconds=2)),
        (" 45m ", timedelta(minutes=45)),
        (60, timedelta(seconds=60)),
        (0.25, timedelta(milliseconds=250)),
        (timedelta(hours=1), timedelta(hours=1)),
    ],
)
def test_parse_accepts_go_strings_seconds_and_timedelta(value: object, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10", "invalid duration '10'"),
        ("5 min", "invalid duration '5 min'"),
        ("1d", "invalid duration '1d'"),
        ("", "invalid duration ''"),
        ("h", "invalid duration 'h'"),
        ("-1s", "must not be negative"),
        (-3, "must not be negative"),
        (True, "expected a duration"),
        ([1], "expected a duration such as '30s', got list"),
    ],
)
def test_parse_rejects(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(days=7), "168h"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(minutes=10, seconds=30), "10m30s"),
        (timedelta(seconds=1, milliseconds=500), "1.5s"),
        (timedelta(milliseconds=300), "300ms"),
        (timedelta(microseconds=1500), "1500us"),
        (timedelta(seconds=-5), "-5s"),
    ],
)
def test_format_renders_go_style(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize(
    "value",
    [timedelta(days=7), timedelta(minutes=90, seconds=1), timedelta(microseconds=1234567)],
)
def test_format_then_parse_round_trips(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value
