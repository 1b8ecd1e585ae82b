"""The OCI content descriptor: what a blob or manifest is (digest, size, media type), not its bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cargohold.reference import Digest

DEFAULT_MEDIA_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Descriptor:
    """Digest, size and media type of a piece of content, plus the optional OCI descriptor fields."""

    digest: Digest
    size: int
    media_type: str = DEFAULT_MEDIA_TYPE
    artifact_type: str | None = None
    annotations: dict[str, str] | None = field(default=None, compare=False, hash=False)
    # Where a foreign/non-distributable layer can be fetched instead (image-spec descriptor.md).
    urls: tuple[str, ...] | None = field(default=None, compare=False, hash=False)
    # The target platform of an index entry (image-spec image-index.md §platform).
    platform: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        """Render as an OCI descriptor JSON object."""
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": str(self.digest),
            "size": self.size,
        }
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform:
            out["platform"] = dict(self.platform)
        return out
