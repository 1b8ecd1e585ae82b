"""The HTTP API: routes, handlers, OCI error codes and request/response helpers."""
