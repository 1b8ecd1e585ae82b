"""Parsing and validation of OCI image manifests/indexes and Docker schema2 manifests/manifest lists.

``parse_manifest`` is total: for any input bytes it returns a ``Manifest`` or raises
``ManifestInvalid`` (never another exception), so the API can hand it untrusted request bodies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NoReturn

from cargohold.errors import ManifestInvalid
from cargohold.manifest import _fields as f
from cargohold.manifest.descriptor import Descriptor
from cargohold.manifest.mediatypes import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    FOREIGN_LAYER_TYPES,
    GENERIC_CONTENT_TYPES,
    INDEX_TYPES,
    MANIFEST_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    SCHEMA1_TYPES,
    normalize_content_type,
)
from cargohold.reference import CANONICAL, Digest

# Real manifests nest 4-5 levels (manifest > layers > descriptor > annotations); anything
# far deeper is an attack on the parser or on whoever re-parses the stored bytes.
MAX_DEPTH = 64

_SCHEMA1_MESSAGE = "schema1 manifests are not supported; push schema2 or OCI"
_IMAGE_ONLY_FIELDS = ("config", "layers")


@dataclass(frozen=True)
class Manifest:
    """A validated manifest or index: its identity (digest over the exact bytes) and its references."""

    media_type: str
    digest: Digest
    size: int
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None
    artifact_type: str | None
    annotations: dict[str, str] | None = field(compare=False, hash=False)

    @property
    def is_index(self) -> bool:
        """True for OCI image indexes and Docker manifest lists."""
        return self.media_type in INDEX_TYPES

    @property
    def references(self) -> tuple[Descriptor, ...]:
        """What must exist in the repository before this manifest may be stored.

        Image manifests: the config and layers, except foreign/non-distributable layers that carry
        ``urls`` (clients fetch those elsewhere). Indexes: the child manifests. The ``subject`` is
        never included: OCI distribution-spec §Pushing Manifests with Subject lets it be absent.
        """
        if self.is_index:
            return self.manifests
        refs = [] if self.config is None else [self.config]
        refs.extend(
            layer
            for layer in self.layers
            if not (layer.media_type in FOREIGN_LAYER_TYPES and layer.urls)
        )
        return tuple(refs)

    def descriptor(self) -> Descriptor:
        """This manifest as an entry of a referrers response (OCI distribution-spec §Listing Referrers)."""
        return Descriptor(
            digest=self.digest,
            size=self.size,
            media_type=self.media_type,
            artifact_type=self.artifact_type,
            annotations=self.annotations,
        )


def parse_manifest(
    content: bytes, content_type: str | None, algorithm: str = CANONICAL
) -> Manifest:
    """Validate ``content`` as a manifest sent with ``content_type``; digest it with ``algorithm``.

    Raises ManifestInvalid (with ``detail`` naming the offending field) for anything that is not a
    well-formed schema2/OCI manifest or index, and DigestUnsupported only for an unregistered
    ``algorithm`` (a caller error, not a content error).
    """
    digest = Digest.from_bytes(content, algorithm)
    doc = f.require_object(_load_json(content), "")
    declared = doc.get("mediaType")
    if declared is not None:
        declared = f.require_string(declared, "mediaType")
    ctype = normalize_content_type(content_type)

    _check_schema_version(doc, declared, ctype)
    media_type = _resolve_media_type(doc, declared, ctype)

    if media_type in INDEX_TYPES:
        for key in _IMAGE_ONLY_FIELDS:
            if doc.get(key) is not None:
                f.fail(
                    key, f"must not appear in an index ({media_type}); is this an image manifest?"
                )
        if "manifests" not in doc:
            f.fail("manifests", f"is required in an index ({media_type})")
        config = None
        layers: tuple[Descriptor, ...] = ()
        manifests = f.descriptors(doc["manifests"], "manifests", index_entry=True)
    else:
        if doc.get("manifests") is not None:
            f.fail(
                "manifests",
                f"must not appear in an image manifest ({media_type}); is this an index?",
            )
        if "config" not in doc:
            f.fail("config", f"is required in an image manifest ({media_type})")
        config = f.descriptor(doc["config"], "config")
        if doc.get("layers") is not None:
            # May be empty: OCI image-spec manifest.md §Guidelines for Artifact Usage.
            layers = f.descriptors(doc["layers"], "layers")
        elif media_type == DOCKER_MANIFEST:
            f.fail("layers", f"is required in a Docker schema2 manifest ({media_type})")
        else:
            layers = ()
        manifests = ()

    subject = None if doc.get("subject") is None else f.descriptor(doc["subject"], "subject")
    artifact_type = f.optional_media_type(doc, "artifactType", "")
    if artifact_type is None and config is not None:
        # OCI distribution-spec §Listing Referrers: fall back to the config's media type.
        artifact_type = config.media_type

    return Manifest(
        media_type=media_type,
        digest=digest,
        size=len(content),
        config=config,
        layers=layers,
        manifests=manifests,
        subject=subject,
        artifact_type=artifact_type,
        annotations=f.annotation_map(doc, ""),
    )


def _reject_constant(name: str) -> NoReturn:
    # Python's json accepts NaN/Infinity; RFC 8259 JSON (and every other registry) does not.
    raise ManifestInvalid(
        f"invalid manifest: {name} is not valid JSON (RFC 8259 §6)", detail={"reason": "json"}
    )


def _load_json(content: bytes) -> Any:
    """Decode strict UTF-8 JSON no deeper than MAX_DEPTH."""
    if not content.strip():
        raise ManifestInvalid("invalid manifest: the body is empty", detail={"reason": "empty"})
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestInvalid(
            f"invalid manifest: not valid UTF-8 at byte {exc.start}",
            detail={"reason": "encoding", "offset": exc.start},
        ) from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        # The C decoder stops at the interpreter's recursion limit before the stack overflows.
        raise _too_deep() from None
    except json.JSONDecodeError as exc:
        raise ManifestInvalid(
            f"invalid manifest: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            detail={"reason": "json", "line": exc.lineno, "column": exc.colno},
        ) from None
    except ValueError as exc:  # e.g. an integer beyond sys.get_int_max_str_digits()
        raise ManifestInvalid(
            f"invalid manifest: not acceptable JSON: {exc}", detail={"reason": "json"}
        ) from None
    if _depth(doc) > MAX_DEPTH:
        raise _too_deep()
    return doc


def _too_deep() -> ManifestInvalid:
    return ManifestInvalid(
        f"invalid manifest: JSON is nested deeper than {MAX_DEPTH} levels",
        detail={"reason": "depth", "max_depth": MAX_DEPTH},
    )


def _depth(doc: Any) -> int:
    """Nesting depth of arrays/objects (a scalar is 0), computed without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _check_schema_version(doc: dict[str, Any], declared: str | None, ctype: str | None) -> None:
    version = doc.get("schemaVersion")
    if (
        declared in SCHEMA1_TYPES
        or ctype in SCHEMA1_TYPES
        or (type(version) is int and version == 1)
    ):
        raise ManifestInvalid(_SCHEMA1_MESSAGE, detail={"reason": "schema1"})
    if "schemaVersion" not in doc:
        f.fail("schemaVersion", "is required and must be 2")
    # bool is an int subclass; ``true`` is not a version.
    if type(version) is not int or version != 2:
        f.fail("schemaVersion", f"must be the integer 2, not {json.dumps(version)[:50]}")


def _resolve_media_type(doc: dict[str, Any], declared: str | None, ctype: str | None) -> str:
    """The manifest's type: its ``mediaType``, else an OCI Content-Type, else its structure.

    Whatever this returns for accepted content, it returns again for the same bytes with no
    Content-Type, so the type can always be recovered from the stored bytes alone.
    """
    if declared is not None:
        if declared not in MANIFEST_TYPES:
            f.fail(
                "mediaType",
                f"{declared[:200]!r} is not a supported manifest type; expected one of "
                + ", ".join(sorted(MANIFEST_TYPES)),
            )
        if ctype is not None and ctype not in GENERIC_CONTENT_TYPES and ctype != declared:
            f.fail(
                "mediaType",
                f"{declared!r} does not match the Content-Type header {ctype[:200]!r}",
            )
        return declared
    if ctype in (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST):
        # Nothing but the body records a manifest's type (the storage layout keeps bytes only),
        # and without ``mediaType`` the bytes would read back as OCI. Distribution rejects these too.
        f.fail("mediaType", f"is required in the body of a {ctype} manifest")
    if ctype in MANIFEST_TYPES:
        return ctype
    is_index = doc.get("manifests") is not None
    is_image = any(doc.get(key) is not None for key in _IMAGE_ONLY_FIELDS)
    if is_index and is_image:
        f.fail(
            "",
            "has both 'manifests' and 'config'/'layers' and no 'mediaType': "
            "cannot tell an index from an image manifest",
        )
    if not (is_index or is_image):
        f.fail(
            "mediaType",
            "is missing and neither the Content-Type nor the structure ('config'/'layers' or "
            "'manifests') identifies the manifest type",
        )
    return OCI_INDEX if is_index else OCI_MANIFEST
