"""The HTTP API: routes, handlers, OCI error codes and request/response helpers."""

from cargohold.api.app import create_app

__all__ = ["create_app"]
