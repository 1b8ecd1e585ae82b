"""Durations in config.yml: Go duration strings (``"300ms"``, ``"1.5h"``, ``"10m30s"``) or seconds.

CNCF Distribution decodes ``time.Duration`` keys with Go's parser, so ``"10s"`` style strings are the
normal spelling and are accepted exactly as Go does (units ns, us/µs, ms, s, m, h; a bare ``"0"``).
A plain YAML number is read as **seconds** (``draintimeout: 60`` is one minute). Distribution reads
it as nanoseconds, which no working configuration relies on: a 60 ns drain or health interval is a
mistake, while seconds are what Python tools and people mean. Negative durations are rejected.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

__all__ = ["Duration", "format_duration", "parse_duration"]

# Go's time.ParseDuration units, in microseconds (timedelta's resolution).
_UNITS_US = {
    "ns": 0.001,
    "us": 1.0,
    "µs": 1.0,
    "μs": 1.0,
    "ms": 1000.0,
    "s": 1e6,
    "m": 60e6,
    "h": 3600e6,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(value: object) -> timedelta:
    """Return ``value`` (Go duration string, seconds as int/float, or timedelta) as a timedelta.

    Raises ValueError for malformed strings, booleans, negative values and other types.
    """
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, bool):
        raise ValueError(f"expected a duration such as '30s', got {value!r}")
    elif isinstance(value, int | float):
        result = timedelta(seconds=value)
    elif isinstance(value, str):
        result = _parse_go(value.strip())
    else:
        raise ValueError(f"expected a duration such as '30s', got {type(value).__name__}")
    if result < timedelta(0):
        raise ValueError(f"duration must not be negative, got {value!r}")
    return result


def _parse_go(text: str) -> timedelta:
    """Parse Go's duration syntax: an optional sign, then one or more number+unit parts."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return timedelta(0)
    if not body:
        raise ValueError(f"invalid duration {text!r}")
    micros = 0.0
    pos = 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None:
            raise ValueError(
                f"invalid duration {text!r}: expected number+unit parts such as '1h30m' "
                "(units ns, us, ms, s, m, h)"
            )
        micros += float(match.group(1)) * _UNITS_US[match.group(2)]
        pos = match.end()
    return timedelta(microseconds=-micros if text.startswith("-") else micros)


def format_duration(value: timedelta) -> str:
    """Render a timedelta in Go's compact style: ``168h``, ``1h30m``, ``1.5s``, ``300ms``, ``0s``."""
    micros = value // timedelta(microseconds=1)
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    if micros < 1_000_000:
        if micros % 1000 == 0:
            return f"{sign}{micros // 1000}ms"
        return f"{sign}{micros}us"
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, frac = divmod(rest, 1_000_000)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if seconds or frac:
        text = f"{seconds}.{frac:06d}".rstrip("0").rstrip(".") if frac else str(seconds)
        parts.append(f"{text}s")
    return sign + "".join(parts)


def _validate(value: Any) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise PydanticCustomError("duration", "{error}", {"error": str(exc)}) from None


# A config duration: validated by parse_duration, dumped to JSON/YAML as a Go duration string.
Duration = Annotated[
    timedelta,
    BeforeValidator(_validate),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
