"""cargohold: an OCI Distribution v1.1 registry, drop-in for CNCF Distribution."""

__version__ = "0.1.0"
