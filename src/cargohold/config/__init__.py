"""The config.yml model, its loader and ``REGISTRY_*`` environment overrides.

Keys and shapes follow CNCF Distribution's configuration reference so an existing registry:2
config.yml loads unchanged; unknown keys and sections cargohold does not implement yet are errors
naming the key path (``ConfigError``), never silently ignored. Durations: see
:mod:`cargohold.config.duration`; environment overrides: see :mod:`cargohold.config.env`.
"""

from cargohold.config.duration import Duration, format_duration, parse_duration
from cargohold.config.env import ENV_PREFIX, apply_env_overrides
from cargohold.config.errors import ConfigError
from cargohold.config.http import (
    DebugConfig,
    HTTP2Config,
    HTTPConfig,
    PrometheusConfig,
    TLSConfig,
    split_host_port,
)
from cargohold.config.loader import (
    config_summary,
    default_config,
    default_data_dir,
    load_config,
    validate_config,
)
from cargohold.config.model import (
    AccessLogConfig,
    CatalogConfig,
    Config,
    HealthConfig,
    LogConfig,
    ManifestValidationConfig,
    RedisConfig,
    RedisPoolConfig,
    RedisTLSConfig,
    StorageDriverHealthConfig,
    URLValidationConfig,
    ValidationConfig,
)
from cargohold.config.storage import (
    DRIVER_MODELS,
    CacheConfig,
    DeleteConfig,
    FilesystemParams,
    InMemoryParams,
    MaintenanceConfig,
    ReadOnlyConfig,
    RedirectConfig,
    StorageConfig,
    TagConfig,
    UploadPurgingConfig,
)

__all__ = [
    "DRIVER_MODELS",
    "ENV_PREFIX",
    "AccessLogConfig",
    "CacheConfig",
    "CatalogConfig",
    "Config",
    "ConfigError",
    "DebugConfig",
    "DeleteConfig",
    "Duration",
    "FilesystemParams",
    "HTTP2Config",
    "HTTPConfig",
    "HealthConfig",
    "InMemoryParams",
    "LogConfig",
    "MaintenanceConfig",
    "ManifestValidationConfig",
    "PrometheusConfig",
    "ReadOnlyConfig",
    "RedirectConfig",
    "RedisConfig",
    "RedisPoolConfig",
    "RedisTLSConfig",
    "StorageConfig",
    "StorageDriverHealthConfig",
    "TLSConfig",
    "TagConfig",
    "URLValidationConfig",
    "UploadPurgingConfig",
    "ValidationConfig",
    "apply_env_overrides",
    "config_summary",
    "default_config",
    "default_data_dir",
    "format_duration",
    "load_config",
    "parse_duration",
    "split_host_port",
    "validate_config",
]
