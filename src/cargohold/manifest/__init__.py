"""Manifests: media types, descriptors, parsing and validation of OCI/Docker manifests and indexes."""

from cargohold.manifest.descriptor import DEFAULT_MEDIA_TYPE, Descriptor

__all__ = ["DEFAULT_MEDIA_TYPE", "Descriptor"]
