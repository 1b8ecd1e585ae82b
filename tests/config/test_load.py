"""Loading valid config.yml files: Distribution's own examples, defaults, aliases and dumps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from cargohold.config import (
    Config,
    ConfigError,
    FilesystemParams,
    InMemoryParams,
    config_summary,
    default_config,
    default_data_dir,
    load_config,
    validate_config,
)
from tests.config.conftest import Loader

# The config.yml shipped in the registry:2 image (cmd/registry/config-example.yml).
REGISTRY2_DEFAULT = """
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
"""

FULL = """
version: 0.1
log:
  accesslog:
    disabled: true
  level: DEBUG
  formatter: json
  fields:
    service: registry
    environment: staging
  reportcaller: true
storage:
  filesystem:
    rootdirectory: /srv/registry
    maxthreads: 50
  delete:
    enabled: true
  redirect:
    disable: true
  cache:
    blobdescriptor: redis
    blobdescriptorsize: 500
  maintenance:
    uploadpurging:
      enabled: true
      age: 72h
      interval: 12h
      dryrun: true
    readonly:
      enabled: true
  tag:
    concurrencylimit: 4
http:
  addr: localhost:5001
  net: tcp
  prefix: /my/nested/registry/
  host: https://myregistryaddress.org:5000
  secret: asecretforlocaldevelopment
  relativeurls: true
  draintimeout: 60s
  tls:
    certificate: /path/to/x509/public
    key: /path/to/x509/private
    clientcas:
      - /path/to/ca.pem
      - /path/to/another/ca.pem
    minimumtls: tls1.3
  debug:
    addr: localhost:5002
    prometheus:
      enabled: true
      path: /metrics
  headers:
    X-Content-Type-Options: [nosniff]
    Strict-Transport-Security: max-age=31536000
  http2:
    disabled: true
redis:
  addr: localhost:6379
  username: registry
  password: asecret
  db: 2
  dialtimeout: 10ms
  readtimeout: 10ms
  writetimeout: 10ms
  pool:
    maxidle: 16
    maxactive: 64
    idletimeout: 300s
  tls:
    enabled: true
health:
  storagedriver:
    enabled: true
    interval: 30s
    threshold: 2
validation:
  disabled: false
  manifests:
    urls:
      allow:
        - ^https?://([^/]+\\.)*example\\.com/
      deny:
        - ^https?://www\\.example\\.com/
catalog:
  maxentries: 200
"""


def test_registry2_default_config(load_yaml: Loader) -> None:
    config = load_yaml(REGISTRY2_DEFAULT)
    assert config.version == "0.1"
    assert config.log.fields == {"service": "registry"}
    assert config.storage.driver_name == "filesystem"
    assert config.storage.driver_params == {
        "rootdirectory": "/var/lib/registry",
        "maxthreads": 100,
        "directwrites": False,
    }
    assert config.storage.cache.blobdescriptor == "inmemory"
    assert config.storage.cache.blobdescriptorsize == 10000
    assert config.storage.delete.enabled is False
    assert config.http.addr == ":5000"
    assert config.http.addr_host_port() == (None, 5000)
    assert config.http.headers == {"X-Content-Type-Options": ["nosniff"]}
    assert config.health.storagedriver.enabled is True
    assert config.health.storagedriver.interval == timedelta(seconds=10)
    assert config.health.storagedriver.threshold == 3
    assert config.redis is None


def test_every_supported_key(load_yaml: Loader) -> None:
    config = load_yaml(FULL)
    assert config.log.level == "debug"
    assert config.log.formatter == "json"
    assert config.log.accesslog.disabled is True
    assert config.log.reportcaller is True
    storage = config.storage
    assert isinstance(storage.driver_config, FilesystemParams)
    assert storage.driver_params == {
        "rootdirectory": "/srv/registry",
        "maxthreads": 50,
        "directwrites": False,
    }
    assert storage.delete.enabled is True
    assert storage.redirect.disable is True
    assert storage.cache.blobdescriptor == "redis"
    assert storage.cache.blobdescriptorsize == 500
    purging = storage.maintenance.uploadpurging
    assert (purging.enabled, purging.age, purging.interval, purging.dryrun) == (
        True,
        timedelta(hours=72),
        timedelta(hours=12),
        True,
    )
    assert storage.maintenance.readonly.enabled is True
    assert storage.tag.concurrencylimit == 4
    http = config.http
    assert http.addr_host_port() == ("localhost", 5001)
    assert http.prefix == "/my/nested/registry/"
    assert http.host == "https://myregistryaddress.org:5000"
    assert http.secret is not None
    assert http.secret.get_secret_value() == "asecretforlocaldevelopment"
    assert http.relativeurls is True
    assert http.draintimeout == timedelta(seconds=60)
    assert http.tls.enabled is True
    assert http.tls.clientcas == ["/path/to/ca.pem", "/path/to/another/ca.pem"]
    assert http.tls.minimumtls == "tls1.3"
    assert http.debug.addr == "localhost:5002"
    assert http.debug.prometheus.enabled is True
    assert http.headers["Strict-Transport-Security"] == ["max-age=31536000"]
    assert http.http2.disabled is True
    redis = config.redis
    assert redis is not None
    assert (redis.addr, redis.username, redis.db) == ("localhost:6379", "registry", 2)
    assert redis.password is not None
    assert redis.password.get_secret_value() == "asecret"
    assert redis.dialtimeout == timedelta(milliseconds=10)
    assert (redis.pool.maxidle, redis.pool.maxactive) == (16, 64)
    assert redis.pool.idletimeout == timedelta(seconds=300)
    assert redis.tls.enabled is True
    assert config.health.storagedriver.interval == timedelta(seconds=30)
    assert config.validation.manifests.urls.allow == [r"^https?://([^/]+\.)*example\.com/"]
    assert config.validation.manifests.urls.deny == [r"^https?://www\.example\.com/"]
    assert config.catalog.maxentries == 200


def test_defaults_of_a_minimal_config(load_yaml: Loader) -> None:
    config = load_yaml("version: 0.1\nstorage:\n  inmemory:\n")
    assert config.storage.driver_name == "inmemory"
    assert isinstance(config.storage.driver_config, InMemoryParams)
    assert config.storage.driver_params == {}
    assert config.log.level == "info"
    assert config.log.formatter == "text"
    assert config.storage.cache.blobdescriptor == ""
    purging = config.storage.maintenance.uploadpurging
    assert (purging.enabled, purging.age, purging.interval, purging.dryrun) == (
        True,
        timedelta(hours=168),
        timedelta(hours=24),
        False,
    )
    assert config.storage.maintenance.readonly.enabled is False
    assert config.storage.redirect.disable is False
    assert config.http.addr == ":5000"
    assert config.http.net == "tcp"
    assert config.http.secret is None
    assert config.http.draintimeout == timedelta(0)
    assert config.http.tls.enabled is False
    assert config.http.debug.prometheus.path == "/metrics"
    assert config.health.storagedriver.enabled is False
    assert config.catalog.maxentries == 1000


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("storage: inmemory", lambda c: c.storage.driver_name == "inmemory"),
        ("storage: {inmemory: {}}", lambda c: c.storage.driver_name == "inmemory"),
        (
            "storage: {filesystem: }",
            lambda c: c.storage.driver_params["rootdirectory"] == "/var/lib/registry",
        ),
        (
            "storage: {inmemory: , cache: {layerinfo: inmemory}}",
            lambda c: c.storage.cache.blobdescriptor == "inmemory",
        ),
        (
            "storage: {inmemory: , cache: {layerinfo: inmemory, blobdescriptor: inmemory}}",
            lambda c: c.storage.cache.blobdescriptor == "inmemory",
        ),
        (
            "storage: {inmemory: , cache: {blobdescriptor: }}",
            lambda c: c.storage.cache.blobdescriptor == "",
        ),
        ("storage: {inmemory: , delete: }", lambda c: c.storage.delete.enabled is False),
        ("storage: inmemory\nloglevel: debug", lambda c: c.log.level == "debug"),
        (
            "storage: inmemory\nloglevel: debug\nlog: {level: error}",
            lambda c: c.log.level == "error",
        ),
        ("storage: inmemory\nlog: {level: ''}", lambda c: c.log.level == "info"),
        (
            "storage: inmemory\nhttp: {net: unix, addr: /run/registry.sock}",
            lambda c: c.http.net == "unix",
        ),
        (
            "storage: inmemory\nhttp: {addr: '[::1]:5443'}",
            lambda c: c.http.addr_host_port() == ("::1", 5443),
        ),
        (
            "storage: inmemory\nhttp: {addr: '0.0.0.0:0'}",
            lambda c: c.http.addr_host_port() == ("0.0.0.0", 0),
        ),
        ("storage: inmemory\nhttp: {net: ''}", lambda c: c.http.net == "tcp"),
        (
            "storage: inmemory\nhttp: {tls: {minimumtls: }}",
            lambda c: c.http.tls.minimumtls == "tls1.2",
        ),
        ("storage: inmemory\nhttp: {prefix: /reg}", lambda c: c.http.prefix == "/reg/"),
        (
            "storage: inmemory\nhttp: {draintimeout: 30}",
            lambda c: c.http.draintimeout == timedelta(seconds=30),
        ),
        (
            "storage: inmemory\nredis: {addr: 'r:6379', password: 1234}",
            lambda c: c.redis.password.get_secret_value() == "1234",
        ),
        ("storage: inmemory\nredis: ", lambda c: c.redis is None),
        (
            "storage: inmemory\nhealth: {storagedriver: {enabled: true, interval: 0, threshold: 0}}",
            lambda c: (
                (c.health.storagedriver.interval, c.health.storagedriver.threshold)
                == (timedelta(seconds=10), 1)
            ),
        ),
        ("storage: inmemory\ncatalog: {maxentries: -1}", lambda c: c.catalog.maxentries == 1000),
        ("storage: inmemory\nauth: ", lambda c: True),
        ("storage: inmemory\nvalidation: {enabled: true}", lambda c: c.validation.enabled),
    ],
)
def test_accepted_shapes(load_yaml: Loader, text: str, check: Callable[[Config], object]) -> None:
    config = load_yaml("version: 0.1\n" + text)
    assert check(config)


def test_addr_host_port_needs_tcp() -> None:
    from cargohold.config import HTTPConfig

    with pytest.raises(ValueError, match="unix socket path"):
        HTTPConfig(net="unix", addr="/run/r.sock").addr_host_port()


def test_version_as_string_is_accepted(load_yaml: Loader) -> None:
    assert load_yaml("version: '0.1'\nstorage: inmemory").version == "0.1"


def test_secrets_are_redacted_in_repr_and_summary(load_yaml: Loader) -> None:
    config = load_yaml(FULL)
    for text in (repr(config), str(config), config_summary(config)):
        assert "asecretforlocaldevelopment" not in text
        assert "asecret" not in text
    summary = yaml.safe_load(config_summary(config))
    assert summary["http"]["secret"] == "**********"
    assert summary["redis"]["password"] == "**********"


def test_summary_is_distribution_shaped_and_loads_again(tmp_path: Path, load_yaml: Loader) -> None:
    config = load_yaml(FULL)
    summary = yaml.safe_load(config_summary(config))
    assert set(summary["storage"]) == {
        "filesystem",
        "delete",
        "cache",
        "maintenance",
        "redirect",
        "tag",
    }
    assert summary["storage"]["maintenance"]["uploadpurging"]["age"] == "72h"
    assert summary["redis"]["dialtimeout"] == "10ms"
    assert "auth" not in summary
    path = tmp_path / "dumped.yml"
    path.write_text(config_summary(config), encoding="utf-8")
    again = load_config(path, environ={})
    assert again.model_dump(exclude={"http": {"secret"}, "redis": {"password"}}) == (
        config.model_dump(exclude={"http": {"secret"}, "redis": {"password"}})
    )


def test_default_config_uses_the_given_data_dir(tmp_path: Path) -> None:
    config = default_config(str(tmp_path / "data"))
    assert config.storage.driver_name == "filesystem"
    assert config.storage.driver_params["rootdirectory"] == str(tmp_path / "data")
    assert config.storage.cache.blobdescriptor == "inmemory"
    assert config.storage.delete.enabled is True
    assert config.http.addr_host_port() == ("127.0.0.1", 5000)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CARGOHOLD_DATA_DIR": "/data/x", "XDG_DATA_HOME": "/xdg"}, "/data/x"),
        ({"XDG_DATA_HOME": "/xdg"}, "/xdg/cargohold"),
        # XDG says relative paths are invalid and must be ignored.
        ({"XDG_DATA_HOME": "relative"}, "~/.local/share/cargohold"),
        ({}, "~/.local/share/cargohold"),
    ],
)
def test_default_data_dir(env: dict[str, str], expected: str) -> None:
    import os

    assert default_data_dir(env) == os.path.expanduser(expected)
    assert default_config(environ=env).storage.driver_params["rootdirectory"] == (
        os.path.expanduser(expected)
    )


def test_load_without_a_path_is_the_default_plus_overrides(tmp_path: Path) -> None:
    env = {"CARGOHOLD_DATA_DIR": str(tmp_path), "REGISTRY_HTTP_ADDR": ":6000"}
    config = load_config(None, environ=env)
    assert config.storage.driver_params["rootdirectory"] == str(tmp_path)
    assert config.http.addr == ":6000"


def test_validate_config_takes_a_mapping() -> None:
    config = validate_config({"storage": {"inmemory": None}})
    assert isinstance(config, Config)
    with pytest.raises(ConfigError, match=r"^storage\.inmemory\.x: unknown key$"):
        validate_config({"storage": {"inmemory": {"x": 1}}})


def test_models_construct_programmatically() -> None:
    from cargohold.config import StorageConfig

    config = Config(storage=StorageConfig(filesystem=FilesystemParams(rootdirectory="/d")))
    assert config.storage.driver_params["rootdirectory"] == "/d"
    assert Config(storage=StorageConfig.model_validate("inmemory")).storage.driver_name == (
        "inmemory"
    )


def test_public_names() -> None:
    import cargohold.config as package

    assert len(set(package.__all__)) == len(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None
    assert {"Config", "ConfigError", "load_config", "default_config", "config_summary"} <= set(
        package.__all__
    )


def test_s3_driver_params_reach_the_driver_unredacted() -> None:
    from cargohold.config import validate_config

    config = validate_config(
        {
            "storage": {
                "s3": {"bucket": "b", "region": "r", "secretkey": "sek", "chunksize": 5 << 20}
            }
        }
    )
    assert config.storage.driver_name == "s3"
    assert config.storage.driver_params == {
        "bucket": "b",
        "region": "r",
        "secretkey": "sek",
        "chunksize": 5 << 20,
    }
    assert "sek" not in repr(config)
