"""``REGISTRY_<SECTION>_<KEY>...`` environment overrides, applied as CNCF Distribution does.

Each underscore is one level of nesting (``REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY``), keys
match case-insensitively, a numeric part indexes a list (``REGISTRY_HTTP_TLS_CLIENTCAS_0``) and
variables apply in sorted order, so ``REGISTRY_STORAGE`` lands before its sub-keys. Values are
YAML scalars (``true``, ``10``, ``[nosniff]``) except for string keys, which take the text as-is
(``REGISTRY_REDIS_PASSWORD=0123`` stays ``"0123"``).

Where cargohold differs, on purpose:

* Setting a storage driver (``REGISTRY_STORAGE=inmemory`` or ``REGISTRY_STORAGE_INMEMORY=`` or
  ``REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=...`` under another driver) replaces the driver but
  keeps ``delete``/``cache``/``maintenance``/``redirect``; Distribution erases those or panics.
* An empty value removes the key so its default applies (Go would store the type's zero value).
* A variable naming no config section (``REGISTRY_PORT``, which Kubernetes injects for a Service
  called "registry") is skipped with a warning, like Distribution. Unknown keys *inside* a section
  are errors, like unknown keys in the file.
"""

from __future__ import annotations

import copy
import logging
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, SecretStr

from cargohold.config.errors import ConfigError
from cargohold.config.model import Config
from cargohold.config.storage import DRIVER_MODELS, StorageConfig

__all__ = ["ENV_PREFIX", "apply_env_overrides"]

ENV_PREFIX = "REGISTRY_"

_log = logging.getLogger(__name__)

_DRIVERS = frozenset({*DRIVER_MODELS, "s3", "azure", "gcs", "swift", "oss"})
_TOP_LEVEL = frozenset({*Config.model_fields, "loglevel"})
_CACHE_ALIASES = {"blobdescriptor": "layerinfo", "layerinfo": "blobdescriptor"}

# Where each override landed (path of keys and list indexes) -> the variable that set it.
Sources = dict[tuple[str | int, ...], str]


def apply_env_overrides(
    raw: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], Sources]:
    """Return a copy of ``raw`` with every ``REGISTRY_*`` variable applied, and where each went.

    Raises ConfigError for malformed variables (empty parts, bad list indexes).
    """
    result: dict[str, Any] = copy.deepcopy(dict(raw))
    sources: Sources = {}
    for name in sorted(key for key in environ if key.startswith(ENV_PREFIX)):
        parts = name[len(ENV_PREFIX) :].split("_")
        if parts[0].lower() not in _TOP_LEVEL:
            _log.warning("ignoring environment variable %s: no config section %s", name, parts[0])
            continue
        if "" in parts:
            raise ConfigError(f"{name}: empty key between underscores")
        path = _apply(result, parts, environ[name], name)
        sources[path] = name
    return result, sources


def _matching_key(mapping: dict[Any, Any], part: str) -> str:
    for key in mapping:
        if str(key).upper() == part:
            return str(key)
    return part.lower()


def _apply(root: dict[str, Any], parts: list[str], text: str, name: str) -> tuple[str | int, ...]:
    """Set the value of variable ``name`` at ``parts`` inside ``root``; return the path used."""
    if parts == ["STORAGE"]:
        return _apply_storage(root, text)
    container: dict[Any, Any] | list[Any] = root
    path: list[str | int] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        key: str | int
        if isinstance(container, list):
            if not part.isdigit() or int(part) > len(container):
                raise ConfigError(f"{name}: list index {part} out of range (have {len(container)})")
            key = int(part)
            if key == len(container):
                container.append(None)
        else:
            key = _matching_key(container, part)
            if path == ["storage"] and key in _DRIVERS:
                _select_driver(container, key)
            if path == ["storage", "cache"] and last and key in _CACHE_ALIASES:
                container.pop(_CACHE_ALIASES[key], None)
        path.append(key)
        if last:
            _set(container, key, _value(path, text))
            return tuple(path)
        if isinstance(container, list):
            assert isinstance(key, int)
            child = container[key]
        else:
            child = container.get(key)
        if path == ["storage"] and isinstance(child, str):
            child = {child: {}}  # ``storage: inmemory`` is shorthand for a mapping
        if not isinstance(child, dict | list):
            child = _new_container(path)
        _set(container, key, child)
        container = child
    raise AssertionError("unreachable")  # pragma: no cover


def _apply_storage(root: dict[str, Any], text: str) -> tuple[str, ...]:
    """``REGISTRY_STORAGE=<driver>`` picks a driver with no parameters, keeping the options."""
    parsed = yaml.safe_load(text) if text else None
    if not isinstance(parsed, str):
        root["storage"] = parsed  # a whole mapping (or junk validation will report)
        return ("storage",)
    storage = root.get("storage")
    if isinstance(storage, str):
        storage = {storage: {}}
    if not isinstance(storage, dict):
        storage = {}
    _select_driver(storage, parsed)
    storage[parsed] = {}
    root["storage"] = storage
    return ("storage", parsed)


def _set(container: dict[Any, Any] | list[Any], key: str | int, value: Any) -> None:
    if isinstance(container, list):
        assert isinstance(key, int)
        container[key] = value
    elif value is _DELETE:
        container.pop(key, None)
    else:
        container[key] = value


def _select_driver(storage: dict[Any, Any], driver: str) -> None:
    for key in list(storage):
        if key in _DRIVERS and key != driver:
            del storage[key]


_DELETE = object()


def _value(path: list[str | int], text: str) -> Any:
    """The override's value: raw text for string keys, else the YAML value; empty removes."""
    if text == "":
        if len(path) == 2 and path[0] == "storage" and path[1] in _DRIVERS:
            return None  # REGISTRY_STORAGE_INMEMORY= selects a driver without parameters
        return _DELETE
    if _is_string_key(path):
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _unwrap(annotation: Any) -> Any:
    while True:
        # pydantic has already moved Annotated metadata out of field annotations.
        if get_origin(annotation) in (Union, types.UnionType):
            arms = [arm for arm in get_args(annotation) if arm is not type(None)]
            if len(arms) != 1:
                return annotation
            annotation = arms[0]
        else:
            return annotation


def _annotation_at(path: list[str | int]) -> Any:
    """The (unwrapped) type of the config key at ``path``, or None if the schema has no such key."""
    annotation: Any = Config
    for part in path:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation is StorageConfig and part in DRIVER_MODELS:
                annotation = DRIVER_MODELS[str(part)]
                continue
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        elif get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        else:
            return None
    return _unwrap(annotation)


def _is_string_key(path: list[str | int]) -> bool:
    """Whether the config key at ``path`` holds a string (so YAML must not reinterpret it)."""
    return _annotation_at(path) in (str, SecretStr)


def _new_container(path: list[str | int]) -> dict[Any, Any] | list[Any]:
    """An empty container of the kind the schema expects at ``path`` (a list or a mapping)."""
    return [] if get_origin(_annotation_at(path)) is list else {}
