"""The ``storage`` section: exactly one driver key plus delete, cache, maintenance and redirect.

CNCF Distribution shapes ``storage`` as a mapping whose one non-option key names the driver
(``filesystem: {rootdirectory: ...}``); ``storage: inmemory`` (a bare string) is the same as
``storage: {inmemory: {}}``. Each supported driver's parameters have a typed model here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_serializer, model_validator
from pydantic import SerializerFunctionWrapHandler as Handler
from pydantic_core import PydanticCustomError

from cargohold.config._base import Section, absent, not_supported
from cargohold.config.duration import Duration

__all__ = [
    "DRIVER_MODELS",
    "CacheConfig",
    "DeleteConfig",
    "FilesystemParams",
    "InMemoryParams",
    "MaintenanceConfig",
    "ReadOnlyConfig",
    "RedirectConfig",
    "S3Params",
    "StorageConfig",
    "TagConfig",
    "UploadPurgingConfig",
]


class FilesystemParams(Section):
    """``storage.filesystem``: a directory tree laid out as Distribution's filesystem driver does."""

    rootdirectory: str = "/var/lib/registry"
    # Distribution raises values under 25 to 25; the driver does the same, so any positive works.
    maxthreads: int = Field(default=100, ge=1)
    # cargohold's own: upload data bypasses the page cache (O_DIRECT) where the filesystem
    # allows it. Off by default, as in Distribution: a blob just pushed stays in the page cache
    # for the pulls that usually follow. See docs/performance.md, "Push".
    directwrites: bool = False

    @field_validator("rootdirectory")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value


class InMemoryParams(Section):
    """``storage.inmemory``: volatile, for tests; takes no parameters."""


# Scalars as YAML or an environment override gives them; the driver parses and range-checks them
# (cargohold.storage.driver.s3_params), failing start-up with the key's name.
_S3Scalar = str | int | float | bool | None


class S3Params(Section):
    """``storage.s3``: Distribution's S3 driver keys (values checked by the driver at start-up)."""

    bucket: str
    region: _S3Scalar = None
    regionendpoint: _S3Scalar = None
    rootdirectory: _S3Scalar = None
    accesskey: _S3Scalar = None
    secretkey: SecretStr | None = None
    secure: _S3Scalar = None
    skipverify: _S3Scalar = None
    v4auth: _S3Scalar = None
    forcepathstyle: _S3Scalar = None
    chunksize: _S3Scalar = None
    multipartcopychunksize: _S3Scalar = None
    multipartcopymaxconcurrency: _S3Scalar = None
    multipartcopythresholdsize: _S3Scalar = None
    storageclass: _S3Scalar = None
    encrypt: _S3Scalar = None
    keyid: _S3Scalar = None
    objectacl: _S3Scalar = None
    useragent: _S3Scalar = None
    usedualstack: _S3Scalar = None
    accelerate: _S3Scalar = None
    usefipsendpoint: _S3Scalar = None
    loglevel: _S3Scalar = None
    # cargohold extension: lifetime of presigned redirect URLs (default 20m).
    redirect_expiry: _S3Scalar = None


# Supported driver name -> parameter model; the storage factory looks drivers up by these names.
DRIVER_MODELS: dict[str, type[Section]] = {
    "filesystem": FilesystemParams,
    "inmemory": InMemoryParams,
    "s3": S3Params,
}
# Distribution's other drivers: recognised so the error says "not supported", not "unknown key".
_UNSUPPORTED_DRIVERS = ("azure", "gcs", "swift", "oss")
_ALL_DRIVERS = (*DRIVER_MODELS, *_UNSUPPORTED_DRIVERS)


class DeleteConfig(Section):
    """``storage.delete``: whether manifests and blobs may be deleted by digest."""

    enabled: bool = False


class CacheConfig(Section):
    """``storage.cache``: the blob descriptor cache ("" disables it; ``layerinfo`` is an old alias)."""

    blobdescriptor: Literal["inmemory", "redis", ""] = ""
    blobdescriptorsize: int = Field(default=10000, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _layerinfo_alias(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "layerinfo" not in data:
            return data
        data = dict(data)
        old = data.pop("layerinfo")
        if "blobdescriptor" in data and data["blobdescriptor"] != old:
            raise PydanticCustomError(
                "conflict",
                "blobdescriptor and its deprecated alias layerinfo disagree; keep blobdescriptor",
            )
        data["blobdescriptor"] = old
        return data

    @field_validator("blobdescriptor", mode="before")
    @classmethod
    def _null_disables(cls, value: Any) -> Any:
        return "" if value is None else value


class UploadPurgingConfig(Section):
    """``storage.maintenance.uploadpurging``: periodic removal of abandoned upload directories."""

    enabled: bool = True
    age: Duration = timedelta(hours=168)
    interval: Duration = timedelta(hours=24)
    dryrun: bool = False

    @model_validator(mode="after")
    def _positive_interval(self) -> UploadPurgingConfig:
        if self.enabled and self.interval <= timedelta(0):
            raise PydanticCustomError("duration", "interval must be positive when enabled")
        return self


class ReadOnlyConfig(Section):
    """``storage.maintenance.readonly``: refuse every write (e.g. while garbage collecting)."""

    enabled: bool = False


class MaintenanceConfig(Section):
    """``storage.maintenance``."""

    uploadpurging: UploadPurgingConfig = Field(default_factory=UploadPurgingConfig)
    readonly: ReadOnlyConfig = Field(default_factory=ReadOnlyConfig)


class RedirectConfig(Section):
    """``storage.redirect``: set ``disable`` to proxy blob content instead of redirecting."""

    disable: bool = False


class TagConfig(Section):
    """``storage.tag`` (Distribution 3): how many tags are examined concurrently when untagging."""

    concurrencylimit: int = Field(default=8, ge=1)


def _unsupported_driver(name: str) -> Any:
    return not_supported(f"storage driver {name} is not supported yet")


class StorageConfig(Section):
    """``storage``: one driver and the storage options; see :attr:`driver_name`."""

    filesystem: FilesystemParams | None = None
    inmemory: InMemoryParams | None = None
    s3: S3Params | None = None
    azure: Annotated[Any, _unsupported_driver("azure")] = absent()
    gcs: Annotated[Any, _unsupported_driver("gcs")] = absent()
    swift: Annotated[Any, _unsupported_driver("swift")] = absent()
    oss: Annotated[Any, _unsupported_driver("oss")] = absent()

    delete: DeleteConfig = Field(default_factory=DeleteConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)
    redirect: RedirectConfig = Field(default_factory=RedirectConfig)
    tag: TagConfig = Field(default_factory=TagConfig)

    @model_validator(mode="before")
    @classmethod
    def _one_driver(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {data: {}}
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return data
        drivers = [key for key in data if key in _ALL_DRIVERS]
        if len(drivers) != 1:
            expected = ", ".join(DRIVER_MODELS)
            if not drivers:
                others = [str(key) for key in data if key not in cls.model_fields]
                hint = f" (unknown keys: {', '.join(others)})" if others else ""
                message = f"no storage driver configured; expected one of {expected}{hint}"
            else:
                message = f"exactly one storage driver must be configured, got {', '.join(drivers)}"
            raise PydanticCustomError("storage_driver", message)
        data = dict(data)
        if data[drivers[0]] is None:  # ``inmemory:`` takes no parameters
            data[drivers[0]] = {}
        return data

    @property
    def driver_name(self) -> str:
        """The configured driver's name, e.g. ``"filesystem"``."""
        for name in DRIVER_MODELS:
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated StorageConfig has no driver")  # pragma: no cover

    @property
    def driver_config(self) -> Section:
        """The driver's typed parameters (e.g. a :class:`FilesystemParams`)."""
        params: Section = getattr(self, self.driver_name)
        return params

    @property
    def driver_params(self) -> dict[str, Any]:
        """The driver's parameters as a plain mapping (secrets revealed, unset keys left out)."""
        return {
            key: value.get_secret_value() if isinstance(value, SecretStr) else value
            for key, value in self.driver_config.model_dump(exclude_none=True).items()
        }

    @model_serializer(mode="wrap")
    def _dump_one_driver(self, handler: Handler) -> dict[str, Any]:
        # Dump Distribution's shape: only the configured driver key, so the dump loads again.
        data: dict[str, Any] = handler(self)
        return {
            key: value
            for key, value in data.items()
            if key not in DRIVER_MODELS or key == self.driver_name
        }
