"""ConfigError, and the translation of pydantic's errors into "key.path: problem" lines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import ValidationError

__all__ = ["ConfigError", "from_validation_error"]

# Keys whose values must never be echoed back in an error message.
_SECRET_KEYS = frozenset({"secret", "password", "accesskey", "secretkey", "accountkey"})

_PREFIXES = ("Value error, ", "Assertion failed, ")


class ConfigError(ValueError):
    """An invalid configuration; each line of the message is ``key.path: problem``."""

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        super().__init__("\n".join(self.problems))


def key_path(loc: Sequence[int | str]) -> str:
    """Render a location as config.yml keys: ``http.tls.clientcas[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _describe(error: dict[str, object]) -> str:
    kind = error["type"]
    loc = error["loc"]
    assert isinstance(loc, tuple)
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping, got {type(error['input']).__name__}"
    message = str(error["msg"])
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    message = message.replace("Input should be", "must be").replace("Input should", "should")
    value = error.get("input")
    secret = bool(loc) and str(loc[-1]) in _SECRET_KEYS
    shown = isinstance(value, str | int | float | bool) and len(repr(value)) <= 80
    if message.startswith(("must be", "should")) and shown and not secret:
        message += f", got {value!r}"
    return message


def from_validation_error(exc: ValidationError, prefix: Sequence[str] = ()) -> ConfigError:
    """Turn pydantic's error list into a ConfigError naming each failing key's path."""
    problems = []
    for error in exc.errors(include_url=False):
        path = key_path((*prefix, *error["loc"]))
        text = _describe(dict(error))
        problems.append(f"{path}: {text}" if path else text)
    return ConfigError(problems)
