"""Repository names and tags, validated purely syntactically by the OCI distribution-spec grammar."""

from __future__ import annotations

import re

from cargohold.errors import NameInvalid, TagInvalid

# OCI distribution-spec §Pulling manifests: <name> grammar, one path component.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
# Always ``fullmatch``: ``$`` would also match before a trailing newline ("latest\n").
_TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")

# CNCF Distribution caps the whole name (including any registry host prefix) at 255 bytes.
NAME_TOTAL_LENGTH_MAX = 255


def validate_name(name: str, *, prefix_length: int = 0) -> str:
    """Return ``name`` if it is a valid repository name; raise NameInvalid otherwise."""
    if len(name) + prefix_length > NAME_TOTAL_LENGTH_MAX:
        raise NameInvalid(
            f"repository name must not be longer than {NAME_TOTAL_LENGTH_MAX} characters",
            detail={"name": name[:300]},
        )
    if not _NAME_RE.fullmatch(name):
        raise NameInvalid(
            "invalid repository name: path components must be lowercase alphanumerics "
            "separated by '.', '_', '__' or '-', joined with '/'",
            detail={"name": name[:300]},
        )
    return name


def validate_tag(tag: str) -> str:
    """Return ``tag`` if it matches ``[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}``; raise TagInvalid otherwise."""
    if not _TAG_RE.fullmatch(tag):
        raise TagInvalid(
            "invalid tag: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", detail={"tag": tag[:300]}
        )
    return tag
