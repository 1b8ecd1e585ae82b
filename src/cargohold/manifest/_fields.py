"""Typed readers for manifest JSON fields; every failure is a ManifestInvalid naming the field's path."""

from __future__ import annotations

import base64
import binascii
from typing import Any, NoReturn

from cargohold.errors import DigestInvalid, ManifestInvalid
from cargohold.manifest.descriptor import Descriptor
from cargohold.manifest.mediatypes import is_valid_media_type
from cargohold.reference import Digest

# Sizes travel as Go int64 in every other registry and client; larger values are nonsense.
SIZE_MAX = 2**63 - 1

# OCI image-spec config.md §platform: the string-valued platform fields.
_PLATFORM_STRINGS = ("architecture", "os", "os.version", "variant")
_PLATFORM_LISTS = ("os.features", "features")

JSONObject = dict[str, Any]

# Optional fields that are JSON null count as absent, as they do for Go's encoding/json, which
# decodes the manifests of CNCF Distribution and of most clients.


def fail(path: str, reason: str) -> NoReturn:
    """Raise ManifestInvalid for the field at ``path`` (``""`` is the document itself)."""
    where = f"field {path!r}" if path else "manifest"
    raise ManifestInvalid(
        f"invalid manifest: {where} {reason}", detail={"field": path, "reason": reason}
    )


def type_name(value: object) -> str:
    """The JSON name of ``value``'s type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def join(path: str, key: str | int) -> str:
    """Extend a field path: ``layers`` + 0 -> ``layers[0]``, ``config`` + ``size`` -> ``config.size``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _encodable(value: str) -> bool:
    # A JSON escape can smuggle an unpaired surrogate into a str; it cannot be re-encoded later.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def require_object(value: object, path: str) -> JSONObject:
    if not isinstance(value, dict):
        fail(path, f"must be a JSON object, not {type_name(value)}")
    return value


def require_list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        fail(path, f"must be a JSON array, not {type_name(value)}")
    return value


def require_string(value: object, path: str) -> str:
    if not isinstance(value, str):
        fail(path, f"must be a string, not {type_name(value)}")
    if not _encodable(value):
        fail(path, "contains an unpaired UTF-16 surrogate escape")
    return value


def media_type(value: object, path: str) -> str:
    """A bare RFC 6838 media type."""
    text = require_string(value, path)
    if not is_valid_media_type(text):
        fail(path, f"is not a valid media type (RFC 6838 type/subtype): {text[:200]!r}")
    return text


def optional_media_type(obj: JSONObject, key: str, path: str) -> str | None:
    if obj.get(key) is None:
        return None
    return media_type(obj[key], join(path, key))


def annotation_map(obj: JSONObject, path: str) -> dict[str, str] | None:
    """The optional ``annotations`` map of string keys to string values."""
    if obj.get("annotations") is None:
        return None
    where = join(path, "annotations")
    raw = require_object(obj["annotations"], where)
    for key, value in raw.items():
        if not _encodable(key):
            fail(where, "has a key with an unpaired UTF-16 surrogate escape")
        require_string(value, join(where, key))
    return dict(raw)


def size(value: object, path: str) -> int:
    # bool is an int subclass in Python; JSON true is not a size.
    if isinstance(value, bool) or not isinstance(value, int):
        fail(path, f"must be a non-negative integer, not {type_name(value)}")
    if value < 0 or value > SIZE_MAX:
        fail(path, f"must be a non-negative integer below 2^63, not {value}")
    return value


def digest(value: object, path: str) -> Digest:
    text = require_string(value, path)
    try:
        return Digest.parse(text)
    except DigestInvalid as exc:  # includes DigestUnsupported
        fail(path, exc.message)


def _urls(obj: JSONObject, path: str) -> tuple[str, ...] | None:
    if obj.get("urls") is None:
        return None
    where = join(path, "urls")
    return tuple(
        require_string(u, join(where, i)) for i, u in enumerate(require_list(obj["urls"], where))
    )


def _platform(obj: JSONObject, path: str) -> dict[str, Any] | None:
    if obj.get("platform") is None:
        return None
    where = join(path, "platform")
    raw = require_object(obj["platform"], where)
    for key in _PLATFORM_STRINGS:
        if key in raw:
            require_string(raw[key], join(where, key))
    for key in _PLATFORM_LISTS:
        if key in raw:
            items = require_list(raw[key], join(where, key))
            for i, item in enumerate(items):
                require_string(item, join(join(where, key), i))
    return dict(raw)


def _data(obj: JSONObject, path: str) -> None:
    # OCI image-spec descriptor.md §data: base64 of the content, embedded.
    if obj.get("data") is None:
        return
    where = join(path, "data")
    text = require_string(obj["data"], where)
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        fail(where, "must be base64-encoded (RFC 4648 §4)")


def descriptor(value: object, path: str, *, index_entry: bool = False) -> Descriptor:
    """An OCI content descriptor; ``platform`` is read only for index entries."""
    obj = require_object(value, path)
    for key in ("mediaType", "digest", "size"):
        if key not in obj:
            fail(join(path, key), "is required in a descriptor")
    _data(obj, path)
    return Descriptor(
        digest=digest(obj["digest"], join(path, "digest")),
        size=size(obj["size"], join(path, "size")),
        media_type=media_type(obj["mediaType"], join(path, "mediaType")),
        artifact_type=optional_media_type(obj, "artifactType", path),
        annotations=annotation_map(obj, path),
        urls=_urls(obj, path),
        platform=_platform(obj, path) if index_entry else None,
    )


def descriptors(value: object, path: str, *, index_entry: bool = False) -> tuple[Descriptor, ...]:
    """A JSON array of descriptors."""
    items = require_list(value, path)
    return tuple(
        descriptor(item, join(path, i), index_entry=index_entry) for i, item in enumerate(items)
    )
