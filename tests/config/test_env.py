"""REGISTRY_* environment overrides, as CNCF Distribution applies them (and where we differ)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from cargohold.config import Config, ConfigError, apply_env_overrides
from tests.config.conftest import Loader

BASE = """
version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  cache:
    blobdescriptor: inmemory
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
"""


@pytest.mark.parametrize(
    ("env", "check"),
    [
        (
            {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/somewhere"},
            lambda c: c.storage.driver_params["rootdirectory"] == "/somewhere",
        ),
        ({"REGISTRY_HTTP_ADDR": "127.0.0.1:6000"}, lambda c: c.http.addr == "127.0.0.1:6000"),
        ({"REGISTRY_STORAGE_DELETE_ENABLED": "true"}, lambda c: c.storage.delete.enabled is True),
        ({"REGISTRY_LOG_LEVEL": "debug"}, lambda c: c.log.level == "debug"),
        ({"REGISTRY_LOGLEVEL": "warn"}, lambda c: c.log.level == "warn"),
        (
            {"REGISTRY_LOG_FIELDS_ENVIRONMENT": "staging"},
            lambda c: c.log.fields == {"service": "registry", "environment": "staging"},
        ),
        ({"REGISTRY_LOG_FIELDS_SERVICE": "other"}, lambda c: c.log.fields == {"service": "other"}),
        (
            {"REGISTRY_HTTP_DRAINTIMEOUT": "45s"},
            lambda c: c.http.draintimeout == timedelta(seconds=45),
        ),
        (
            {"REGISTRY_HTTP_DRAINTIMEOUT": "30"},
            lambda c: c.http.draintimeout == timedelta(seconds=30),
        ),
        (
            {"REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS": "50"},
            lambda c: c.storage.driver_params["maxthreads"] == 50,
        ),
        # string keys keep the text verbatim: no YAML reinterpretation of 0123, yes or 1:30
        ({"REGISTRY_HTTP_SECRET": "0123"}, lambda c: c.http.secret.get_secret_value() == "0123"),
        ({"REGISTRY_HTTP_PREFIX": "/1:30/"}, lambda c: c.http.prefix == "/1:30/"),
        (
            {"REGISTRY_REDIS_ADDR": "r:6379", "REGISTRY_REDIS_PASSWORD": "yes"},
            lambda c: c.redis.password.get_secret_value() == "yes",
        ),
        ({"REGISTRY_REDIS_ADDR": "r:6379", "REGISTRY_REDIS_DB": "3"}, lambda c: c.redis.db == 3),
        # lists: a YAML flow sequence, or one element by index
        (
            {"REGISTRY_HTTP_HEADERS_X-FRAME-OPTIONS": "[DENY]"},
            lambda c: c.http.headers["x-frame-options"] == ["DENY"],
        ),
        (
            {"REGISTRY_HTTP_HEADERS_X-CONTENT-TYPE-OPTIONS": "[other]"},
            lambda c: c.http.headers == {"X-Content-Type-Options": ["other"]},
        ),
        (
            {
                "REGISTRY_HTTP_TLS_CERTIFICATE": "/c",
                "REGISTRY_HTTP_TLS_KEY": "/k",
                "REGISTRY_HTTP_TLS_CLIENTCAS_0": "/ca0",
                "REGISTRY_HTTP_TLS_CLIENTCAS_1": "/ca1",
            },
            lambda c: c.http.tls.clientcas == ["/ca0", "/ca1"],
        ),
        (
            {"REGISTRY_HTTP_HEADERS_X-CONTENT-TYPE-OPTIONS_0": "changed"},
            lambda c: c.http.headers == {"X-Content-Type-Options": ["changed"]},
        ),
        # sections absent from the file are created
        (
            {"REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED": "false"},
            lambda c: c.storage.maintenance.uploadpurging.enabled is False,
        ),
        (
            {"REGISTRY_STORAGE_MAINTENANCE_READONLY": "{enabled: true}"},
            lambda c: c.storage.maintenance.readonly.enabled is True,
        ),
        (
            {"REGISTRY_HEALTH_STORAGEDRIVER_ENABLED": "true"},
            lambda c: c.health.storagedriver.enabled is True,
        ),
        # the storage driver is replaced, the storage options survive
        (
            {"REGISTRY_STORAGE": "inmemory"},
            lambda c: (
                (c.storage.driver_name, c.storage.cache.blobdescriptor) == ("inmemory", "inmemory")
            ),
        ),
        ({"REGISTRY_STORAGE_INMEMORY": ""}, lambda c: c.storage.driver_name == "inmemory"),
        (
            {"REGISTRY_STORAGE_FILESYSTEM_DIRECTWRITES": "true"},
            lambda c: c.storage.driver_params["directwrites"] is True,
        ),
        (
            {"REGISTRY_STORAGE": "filesystem", "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/new"},
            lambda c: (
                c.storage.driver_params
                == {"rootdirectory": "/new", "maxthreads": 100, "directwrites": False}
            ),
        ),
        (
            {"REGISTRY_STORAGE": "filesystem"},
            lambda c: c.storage.driver_params["rootdirectory"] == "/var/lib/registry",
        ),
        # the deprecated cache alias overrides either spelling in the file
        (
            {"REGISTRY_STORAGE_CACHE_LAYERINFO": "redis", "REGISTRY_REDIS_ADDR": "r:1"},
            lambda c: c.storage.cache.blobdescriptor == "redis",
        ),
        # an empty value restores the default
        (
            {"REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR": ""},
            lambda c: c.storage.cache.blobdescriptor == "",
        ),
        ({"REGISTRY_HTTP_ADDR": ""}, lambda c: c.http.addr == ":5000"),
        # not ours: Kubernetes service links for a Service named "registry", other prefixes
        (
            {
                "REGISTRY_PORT": "tcp://10.0.0.1:5000",
                "REGISTRY_SERVICE_HOST": "10.0.0.1",
                "REGISTRY_PORT_5000_TCP_ADDR": "10.0.0.1",
                "HTTP_ADDR": "x",
                "registry_http_addr": "x",
            },
            lambda c: c.http.addr == ":5000",
        ),
    ],
)
def test_override(
    load_yaml: Loader, env: dict[str, str], check: Callable[[Config], object]
) -> None:
    assert check(load_yaml(BASE, env))


def test_more_specific_variables_apply_after_less_specific(load_yaml: Loader) -> None:
    env = {
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/kept",
        "REGISTRY_STORAGE": "{filesystem: {rootdirectory: /replaced}, delete: {enabled: true}}",
    }
    config = load_yaml(BASE, env)
    assert config.storage.driver_params["rootdirectory"] == "/kept"
    assert config.storage.delete.enabled is True
    assert config.storage.cache.blobdescriptor == ""


def test_override_of_a_different_driver_replaces_the_driver(load_yaml: Loader) -> None:
    text = "version: 0.1\nstorage: {inmemory: , delete: {enabled: true}}\n"
    config = load_yaml(text, {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/d"})
    assert config.storage.driver_name == "filesystem"
    assert config.storage.driver_params["rootdirectory"] == "/d"
    assert config.storage.delete.enabled is True


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"REGISTRY_HTTP_ADRR": ":1"}, "http.adrr: unknown key (set by REGISTRY_HTTP_ADRR)"),
        ({"REGISTRY_HTTP_ADDR": "nope"}, "http.addr: expected HOST:PORT or :PORT"),
        ({"REGISTRY_LOG_LEVEL": "loud"}, "log.level: must be 'error', 'warn', 'info' or 'debug'"),
        ({"REGISTRY_STORAGE_DELETE_ENABLED": "maybe"}, "storage.delete.enabled: must be a valid"),
        ({"REGISTRY_STORAGE": "s3"}, "storage.s3.bucket: required key is missing"),
        ({"REGISTRY_STORAGE_S3_BUCKT": "b"}, "storage.s3.buckt: unknown key"),
        ({"REGISTRY_STORAGE": "gcs"}, "storage.gcs: storage driver gcs is not supported yet"),
        ({"REGISTRY_AUTH_HTPASSWD_PATH": "/p"}, "auth: not supported yet"),
        ({"REGISTRY_STORAGE": "nothing"}, "storage: no storage driver configured"),
        ({"REGISTRY_HTTP_TLS_CLIENTCAS_1": "/ca"}, "REGISTRY_HTTP_TLS_CLIENTCAS_1: list index 1"),
        ({"REGISTRY_HTTP_TLS_CLIENTCAS_X": "/ca"}, "REGISTRY_HTTP_TLS_CLIENTCAS_X: list index X"),
        ({"REGISTRY_HTTP__ADDR": ":1"}, "REGISTRY_HTTP__ADDR: empty key between underscores"),
    ],
)
def test_override_errors(load_yaml: Loader, env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml(BASE.replace("headers:\n    X-Content-Type-Options: [nosniff]", ""), env)
    matching = [problem for problem in caught.value.problems if problem.startswith(expected)]
    assert matching, caught.value.problems
    [name] = env
    assert name in matching[0]  # the variable responsible is named


@pytest.mark.parametrize(
    ("text", "env", "check"),
    [
        # ``storage: <driver>`` shorthand in the file, then a storage option from the environment
        (
            "version: 0.1\nstorage: inmemory\n",
            {"REGISTRY_STORAGE_DELETE_ENABLED": "true"},
            lambda c: (c.storage.driver_name, c.storage.delete.enabled) == ("inmemory", True),
        ),
        (
            "version: 0.1\nstorage: filesystem\n",
            {"REGISTRY_STORAGE": "inmemory"},
            lambda c: c.storage.driver_name == "inmemory",
        ),
        ("version: 0.1\n", {"REGISTRY_STORAGE": "inmemory"}, lambda c: True),
        # free-form values (log.fields) can hold lists of mappings, indexed like any list
        (
            "version: 0.1\nstorage: inmemory\nlog: {fields: {tags: [{name: a}]}}\n",
            {"REGISTRY_LOG_FIELDS_TAGS_0_NAME": "b"},
            lambda c: c.log.fields == {"tags": [{"name": "b"}]},
        ),
        # text that is not valid YAML is taken literally
        (
            "version: 0.1\nstorage: inmemory\n",
            {"REGISTRY_LOG_FIELDS_NOTE": "[unclosed"},
            lambda c: c.log.fields == {"note": "[unclosed"},
        ),
    ],
)
def test_override_edge_shapes(
    load_yaml: Loader, text: str, env: dict[str, str], check: Callable[[Config], object]
) -> None:
    assert check(load_yaml(text, env))


def test_file_keys_not_named_by_a_variable_are_untouched() -> None:
    raw: dict[str, Any] = {
        "version": "0.1",
        "storage": {"inmemory": None},
        "http": {"addr": ":1", "prefix": "/p/"},
    }
    merged, sources = apply_env_overrides(raw, {"REGISTRY_HTTP_ADDR": ":2"})
    assert merged["http"] == {"addr": ":2", "prefix": "/p/"}
    assert raw["http"]["addr"] == ":1"  # the input is not modified
    assert sources == {("http", "addr"): "REGISTRY_HTTP_ADDR"}


def test_unknown_section_variables_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    merged, sources = apply_env_overrides({"version": "0.1"}, {"REGISTRY_PORT": "tcp://x:1"})
    assert merged == {"version": "0.1"}
    assert sources == {}
    assert "ignoring environment variable REGISTRY_PORT" in caplog.text
