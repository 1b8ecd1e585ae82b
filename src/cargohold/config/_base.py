"""The base model every config section derives from, and the marker for Distribution keys we lack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

__all__ = ["Section", "absent", "not_supported"]


class Section(BaseModel):
    """A config.yml mapping: unknown keys are errors, YAML numbers are accepted for string keys."""

    # Go decodes ``password: 1234`` into a string field; pydantic must not reject it.
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, data: Any) -> Any:
        # ``delete:`` with nothing under it is an empty mapping to Go's YAML decoder.
        return {} if data is None else data


def not_supported(message: str = "not supported yet by cargohold") -> AfterValidator:
    """Validator for a key CNCF Distribution has and cargohold does not implement yet.

    Use as ``key: Annotated[Any, not_supported()] = absent()``: present with any value but null,
    the config is rejected rather than half-honoured (a registry silently running without the
    ``auth`` it was given would be worse than one that refuses to start).
    """

    def reject(value: Any) -> Any:
        if value is not None:
            raise PydanticCustomError("not_supported", message)
        return value

    check: Callable[[Any], Any] = reject
    return AfterValidator(check)


def absent() -> Any:
    """Default for a not-supported key: None, left out of reprs and dumps."""
    return Field(default=None, exclude=True, repr=False)
