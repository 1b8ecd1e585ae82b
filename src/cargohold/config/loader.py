"""Loading a Config: YAML file or built-in default, then ``REGISTRY_*`` overrides, then validation."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cargohold.config.env import Sources, apply_env_overrides
from cargohold.config.errors import ConfigError, from_validation_error, key_path
from cargohold.config.model import Config

__all__ = [
    "config_summary",
    "default_config",
    "default_data_dir",
    "load_config",
    "validate_config",
]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, which PyYAML would silently resolve to the last."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {line})", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{os.fspath(path)}: cannot read config file: {reason}") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{os.fspath(path)}: invalid YAML: {exc}") from None
    if data is None:
        raise ConfigError(f"{os.fspath(path)}: config file is empty")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{os.fspath(path)}: must be a mapping of sections, got {type(data).__name__}"
        )
    if "version" not in data:
        raise ConfigError("version: required key is missing (use version: 0.1)")
    return data


def default_data_dir(environ: Mapping[str, str] | None = None) -> str:
    """Where the default config stores data: ``$CARGOHOLD_DATA_DIR``, else XDG's data home."""
    env = os.environ if environ is None else environ
    if env.get("CARGOHOLD_DATA_DIR"):
        return env["CARGOHOLD_DATA_DIR"]
    xdg = env.get("XDG_DATA_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.expanduser("~/.local/share")
    return os.path.join(base, "cargohold")


def _default_raw(data_dir: str) -> dict[str, Any]:
    return {
        "version": "0.1",
        "storage": {
            "filesystem": {"rootdirectory": data_dir},
            "cache": {"blobdescriptor": "inmemory"},
            "delete": {"enabled": True},
        },
        "http": {
            "addr": "127.0.0.1:5000",
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
    }


def default_config(data_dir: str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The config ``cargohold serve`` uses with no file: local filesystem storage, loopback only.

    ``data_dir`` defaults to :func:`default_data_dir`. No environment overrides are applied.
    """
    return validate_config(_default_raw(data_dir or default_data_dir(environ)))


def validate_config(data: Mapping[str, Any], sources: Sources | None = None) -> Config:
    """Validate an already-parsed config mapping; raises ConfigError naming each bad key."""
    try:
        return Config.model_validate(dict(data))
    except ValidationError as exc:
        error = from_validation_error(exc)
    if sources:
        error = ConfigError(_blame(problem, sources) for problem in error.problems)
    raise error


def _blame(problem: str, sources: Sources) -> str:
    """Append the environment variables that set the failing key or something under it."""
    path, _, _ = problem.partition(": ")
    names = []
    for where, name in sources.items():
        shown = key_path(where)
        if _within(path, shown) or _within(shown, path):
            names.append(name)
    return f"{problem} (set by {', '.join(sorted(names))})" if names else problem


def _within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith((ancestor + ".", ancestor + "["))


def load_config(
    path: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read ``path`` (or the :func:`default_config` when None), apply ``REGISTRY_*`` overrides.

    ``environ`` defaults to ``os.environ``. Raises ConfigError with one ``key.path: problem`` line
    per fault; unreadable files and YAML syntax errors name the file instead.
    """
    env = os.environ if environ is None else environ
    raw = _default_raw(default_data_dir(env)) if path is None else _read_yaml(path)
    merged, sources = apply_env_overrides(raw, env)
    return validate_config(merged, sources)


def config_summary(config: Config) -> str:
    """The effective config as config.yml text, secrets shown as ``**********``."""
    data = config.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
