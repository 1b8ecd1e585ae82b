"""The ``http`` section: listen address, URL prefix, TLS, response headers, debug server."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from cargohold.config._base import Section, absent, not_supported
from cargohold.config.duration import Duration

__all__ = [
    "DebugConfig",
    "HTTP2Config",
    "HTTPConfig",
    "PrometheusConfig",
    "TLSConfig",
    "TimeoutConfig",
    "split_host_port",
]


def split_host_port(addr: str) -> tuple[str | None, int]:
    """Split Go's ``HOST:PORT`` (``[::1]:5000`` for IPv6); an empty host means all interfaces (None).

    Raises ValueError when the port is missing, not a number or out of range.
    """
    host, sep, port_text = addr.rpartition(":")
    if not sep:
        raise ValueError(f"expected HOST:PORT or :PORT, got {addr!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"IPv6 hosts must be bracketed as [HOST]:PORT, got {addr!r}")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"port must be a number from 0 to 65535, got {port_text!r}")
    return (host or None), int(port_text)


class TLSConfig(Section):
    """``http.tls``: serve HTTPS with ``certificate``/``key``; ``clientcas`` demand client certs."""

    certificate: str = ""
    key: str = ""
    clientcas: list[str] = Field(default_factory=list)
    minimumtls: Literal["tls1.2", "tls1.3"] = "tls1.2"
    ciphersuites: Annotated[Any, not_supported()] = absent()
    letsencrypt: Annotated[Any, not_supported()] = absent()

    @field_validator("minimumtls", mode="before")
    @classmethod
    def _old_tls(cls, value: Any) -> Any:
        if value in ("tls1.0", "tls1.1"):
            raise PydanticCustomError(
                "insecure_tls",
                "{value} is insecure and not supported; use tls1.2 or tls1.3",
                {"value": value},
            )
        return "tls1.2" if value in (None, "") else value

    @model_validator(mode="after")
    def _pair(self) -> TLSConfig:
        if bool(self.certificate) != bool(self.key):
            raise PydanticCustomError("tls", "certificate and key must be set together")
        if self.clientcas and not self.certificate:
            raise PydanticCustomError("tls", "clientcas needs certificate and key")
        return self

    @property
    def enabled(self) -> bool:
        """Whether the server listens with TLS."""
        return bool(self.certificate)


class PrometheusConfig(Section):
    """``http.debug.prometheus``: expose metrics on the debug server."""

    enabled: bool = False
    path: str = "/metrics"


class DebugConfig(Section):
    """``http.debug``: a separate listener for metrics and health; off when ``addr`` is empty."""

    addr: str = ""
    prometheus: PrometheusConfig = Field(default_factory=PrometheusConfig)

    @field_validator("addr")
    @classmethod
    def _addr(cls, value: str) -> str:
        if value:
            split_host_port(value)
        return value


class HTTP2Config(Section):
    """``http.http2``; aiohttp speaks HTTP/1.1 only, so HTTP/2 is effectively always disabled."""

    disabled: bool = False


class TimeoutConfig(Section):
    """``http.timeout`` (a cargohold extension): how long a silent peer may hold a connection.

    ``idle``: an open connection with no request in progress (including one whose request headers
    never complete); ``read``: waiting for the next piece of a request body; ``write``: waiting for
    the client to accept the next piece of a response. Zero disables a timeout.
    """

    idle: Duration = timedelta(seconds=120)
    read: Duration = timedelta(seconds=60)
    write: Duration = timedelta(seconds=60)


class HTTPConfig(Section):
    """``http``: how and where the registry API is served."""

    # net before addr: addr's validator reads it.
    net: Literal["tcp", "unix"] = "tcp"
    addr: str = ":5000"
    prefix: str = ""
    host: str = ""
    secret: SecretStr | None = None
    relativeurls: bool = False
    draintimeout: Duration = timedelta(0)
    timeout: TimeoutConfig = Field(default_factory=TimeoutConfig)
    # cargohold extension: processes serving the API; 0 means one per CPU core.
    workers: int = Field(default=0, ge=0)
    headers: dict[str, list[str]] = Field(default_factory=dict)
    tls: TLSConfig = Field(default_factory=TLSConfig)
    debug: DebugConfig = Field(default_factory=DebugConfig)
    http2: HTTP2Config = Field(default_factory=HTTP2Config)

    @field_validator("net", mode="before")
    @classmethod
    def _default_net(cls, value: Any) -> Any:
        return "tcp" if value in (None, "") else value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        # Distribution wants "/path/"; a missing trailing slash is added rather than refused.
        if value and not value.startswith("/"):
            raise ValueError(f"must start with '/', got {value!r}")
        if value and not value.endswith("/"):
            value += "/"
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"must be an absolute http(s) URL, got {value!r}")
        return value

    @field_validator("headers", mode="before")
    @classmethod
    def _header_values(cls, value: Any) -> Any:
        # ``Header: value`` is taken as ``Header: [value]``.
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("addr")
    @classmethod
    def _addr(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("net", "tcp") == "unix":
            if not value:
                raise ValueError("must be a socket path when net is unix")
        else:
            split_host_port(value)
        return value

    def addr_host_port(self) -> tuple[str | None, int]:
        """``addr`` as (host, port); host None means all interfaces (``":5000"``). TCP only."""
        if self.net != "tcp":
            raise ValueError(f"http.addr is a unix socket path, not HOST:PORT: {self.addr!r}")
        return split_host_port(self.addr)
