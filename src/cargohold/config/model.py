"""The top-level :class:`Config` and its smaller sections (log, redis, health, validation)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from cargohold.config._base import Section, absent, not_supported
from cargohold.config.duration import Duration
from cargohold.config.http import HTTPConfig, split_host_port
from cargohold.config.storage import StorageConfig

__all__ = [
    "AccessLogConfig",
    "CatalogConfig",
    "Config",
    "HealthConfig",
    "LogConfig",
    "ManifestValidationConfig",
    "RedisConfig",
    "RedisPoolConfig",
    "RedisTLSConfig",
    "StorageDriverHealthConfig",
    "URLValidationConfig",
    "ValidationConfig",
]

LogLevel = Literal["error", "warn", "info", "debug"]


class AccessLogConfig(Section):
    """``log.accesslog``: one line per request unless disabled."""

    disabled: bool = False


class LogConfig(Section):
    """``log``: level, line format and static fields added to every line."""

    level: LogLevel = "info"
    formatter: Literal["text", "json", "logstash"] = "text"
    fields: dict[str, Any] = Field(default_factory=dict)
    accesslog: AccessLogConfig = Field(default_factory=AccessLogConfig)
    reportcaller: bool = False
    hooks: Annotated[Any, not_supported()] = absent()

    @field_validator("level", "formatter", mode="before")
    @classmethod
    def _lower(cls, value: Any, info: ValidationInfo) -> Any:
        # Distribution lowercases the level; "" means the default, as for Go's zero value.
        if value is None or value == "":
            assert info.field_name is not None
            return cls.model_fields[info.field_name].default
        return value.lower() if isinstance(value, str) else value


class RedisPoolConfig(Section):
    """``redis.pool``: connection pool bounds (0 means no limit, as in Distribution)."""

    maxidle: int = Field(default=16, ge=0)
    maxactive: int = Field(default=64, ge=0)
    idletimeout: Duration = timedelta(seconds=300)


class RedisTLSConfig(Section):
    """``redis.tls``: connect with TLS, optionally with a client certificate and private CAs."""

    enabled: bool = False
    certificate: str = ""
    key: str = ""
    clientcas: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _pair(self) -> RedisTLSConfig:
        if bool(self.certificate) != bool(self.key):
            raise PydanticCustomError("tls", "certificate and key must be set together")
        return self


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be positive: every Redis call needs a timeout")
    return value


class RedisConfig(Section):
    """``redis``: the shared Redis connection (blob descriptor cache and friends)."""

    addr: str
    username: str = ""
    password: SecretStr | None = None
    db: int = Field(default=0, ge=0)
    dialtimeout: Duration = timedelta(seconds=5)
    readtimeout: Duration = timedelta(seconds=5)
    writetimeout: Duration = timedelta(seconds=5)
    pool: RedisPoolConfig = Field(default_factory=RedisPoolConfig)
    tls: RedisTLSConfig = Field(default_factory=RedisTLSConfig)

    _check_timeouts = field_validator("dialtimeout", "readtimeout", "writetimeout")(_positive)

    @field_validator("addr")
    @classmethod
    def _addr(cls, value: str) -> str:
        host, _ = split_host_port(value)
        if host is None:
            raise ValueError(f"must name a host, got {value!r}")
        return value


class StorageDriverHealthConfig(Section):
    """``health.storagedriver``: periodically probe the storage backend."""

    enabled: bool = False
    interval: Duration = timedelta(seconds=10)
    threshold: int = Field(default=1, ge=1)

    @field_validator("threshold", mode="before")
    @classmethod
    def _zero_is_default(cls, value: Any) -> Any:
        # Distribution treats an unset (zero) threshold as one failure.
        return 1 if value == 0 else value

    @field_validator("interval")
    @classmethod
    def _zero_interval_is_default(cls, value: timedelta) -> timedelta:
        # Distribution checks every 10s when the interval is unset (zero).
        return value or timedelta(seconds=10)


class HealthConfig(Section):
    """``health``; only the storage driver check is implemented."""

    storagedriver: StorageDriverHealthConfig = Field(default_factory=StorageDriverHealthConfig)
    file: Annotated[Any, not_supported()] = absent()
    http: Annotated[Any, not_supported()] = absent()
    tcp: Annotated[Any, not_supported()] = absent()


def _compile_all(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return patterns


class URLValidationConfig(Section):
    """``validation.manifests.urls``: regexps that foreign-layer URLs must / must not match."""

    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)

    _check = field_validator("allow", "deny")(_compile_all)


class ManifestValidationConfig(Section):
    """``validation.manifests``."""

    urls: URLValidationConfig = Field(default_factory=URLValidationConfig)
    indexes: Annotated[Any, not_supported()] = absent()


class ValidationConfig(Section):
    """``validation``; ``enabled`` is Distribution's deprecated spelling of ``not disabled``."""

    enabled: bool | None = None
    disabled: bool = False
    manifests: ManifestValidationConfig = Field(default_factory=ManifestValidationConfig)


class CatalogConfig(Section):
    """``catalog``: the most entries one ``/v2/_catalog`` page returns."""

    maxentries: int = 1000

    @field_validator("maxentries")
    @classmethod
    def _default_when_not_positive(cls, value: int) -> int:
        # Distribution: "an empty or a negative value will set a default of 1000".
        return value if value > 0 else 1000


class Config(Section):
    """A whole config.yml (version 0.1), validated; sections not yet implemented are rejected."""

    version: str = "0.1"
    log: LogConfig = Field(default_factory=LogConfig)
    storage: StorageConfig
    http: HTTPConfig = Field(default_factory=HTTPConfig)
    redis: RedisConfig | None = None
    health: HealthConfig = Field(default_factory=HealthConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    catalog: CatalogConfig = Field(default_factory=CatalogConfig)

    auth: Annotated[Any, not_supported()] = absent()
    notifications: Annotated[Any, not_supported()] = absent()
    proxy: Annotated[Any, not_supported()] = absent()
    middleware: Annotated[Any, not_supported()] = absent()
    reporting: Annotated[Any, not_supported()] = absent()
    compatibility: Annotated[Any, not_supported()] = absent()
    policy: Annotated[Any, not_supported()] = absent()

    @model_validator(mode="before")
    @classmethod
    def _deprecated_loglevel(cls, data: Any) -> Any:
        # Top-level ``loglevel`` is Distribution's old spelling of ``log.level``; log.level wins.
        if not isinstance(data, dict) or "loglevel" not in data:
            return data
        data = dict(data)
        level = data.pop("loglevel")
        log = data.get("log")
        if log is None:
            log = {}
        if isinstance(log, dict) and level not in (None, ""):
            data["log"] = {"level": level, **log}
        return data

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        # YAML reads ``version: 0.1`` as a float.
        text = str(value) if isinstance(value, int | float) else value
        if text != "0.1":
            raise PydanticCustomError(
                "version", "unsupported version {value}; only 0.1 exists", {"value": repr(value)}
            )
        return text

    @model_validator(mode="after")
    def _redis_needed(self) -> Config:
        if self.storage.cache.blobdescriptor == "redis" and self.redis is None:
            raise PydanticCustomError(
                "redis_missing",
                "redis: section required because storage.cache.blobdescriptor is redis",
            )
        return self
