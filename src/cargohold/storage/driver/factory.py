"""Build a storage driver from its configuration name and parameters (``storage.<name>``).

Each driver module exposes ``from_parameters(params) -> StorageDriver`` and owns its parameter
checks; adding a driver is one line in ``_DRIVERS``. Modules are imported on first use, so an
unused driver's dependencies are never loaded.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from cargohold.storage.driver.base import StorageDriver

__all__ = ["bool_param", "check_params", "create_driver", "driver_names", "int_param"]

# What Go's strconv.ParseBool accepts (case-insensitively here), as Distribution reads booleans.
_TRUE = frozenset({"1", "t", "true"})
_FALSE = frozenset({"0", "f", "false"})

DriverFactory = Callable[[Mapping[str, Any]], StorageDriver]

# name -> "module:function" building the driver from its parameters.
_DRIVERS: dict[str, str] = {
    "filesystem": "cargohold.storage.driver.filesystem:from_parameters",
    "inmemory": "cargohold.storage.driver.inmemory:from_parameters",
    "s3": "cargohold.storage.driver.s3:from_parameters",
}


def driver_names() -> list[str]:
    """The sorted names ``create_driver`` accepts."""
    return sorted(_DRIVERS)


def create_driver(name: str, params: Mapping[str, Any] | None = None) -> StorageDriver:
    """Return a new driver; ValueError names an unknown driver or parameter, or a bad value."""
    target = _DRIVERS.get(name)
    if target is None:
        known = ", ".join(driver_names())
        raise ValueError(f"unknown storage driver {name!r} (known: {known})")
    module_name, _, attr = target.partition(":")
    factory: DriverFactory = getattr(importlib.import_module(module_name), attr)
    return factory(params or {})


def check_params(driver: str, params: Mapping[str, Any], known: Collection[str]) -> None:
    """Raise ValueError naming every parameter of ``params`` not in ``known``."""
    unknown = sorted(str(key) for key in params if key not in known)
    if unknown:
        accepted = ", ".join(sorted(known)) or "none"
        raise ValueError(
            f"{driver} driver: unknown parameter(s) {', '.join(unknown)} (accepted: {accepted})"
        )


def int_param(driver: str, params: Mapping[str, Any], key: str, default: int) -> int:
    """Read an integer parameter; digit strings count, since environment overrides are text."""
    value = params.get(key)
    if value is None:  # absent, or an empty YAML value
        return default
    if isinstance(value, bool):
        raise ValueError(f"{driver} driver: {key} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
        return int(value.strip())
    raise ValueError(f"{driver} driver: {key} must be an integer, got {value!r}")


def bool_param(driver: str, params: Mapping[str, Any], key: str, default: bool) -> bool:
    """Read a boolean parameter: YAML's booleans, or the strings Go's ``strconv.ParseBool`` takes."""
    value = params.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"{driver} driver: {key} must be a boolean, got {value!r}")
