"""Keys the operations features read: http.workers, http.debug, health, log."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cargohold.config import ConfigError
from tests.config.conftest import Loader

BASE = """
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
"""


def test_defaults(load_yaml: Loader) -> None:
    config = load_yaml(BASE)
    assert config.http.workers == 0  # one per core, decided when serving
    assert config.http.debug.addr == ""
    assert not config.http.debug.prometheus.enabled
    assert config.http.debug.prometheus.path == "/metrics"
    assert not config.health.storagedriver.enabled
    assert config.health.storagedriver.interval == timedelta(seconds=10)
    assert config.health.storagedriver.threshold == 1


def test_operations_keys(load_yaml: Loader) -> None:
    config = load_yaml(
        BASE
        + """
http:
  workers: 4
  draintimeout: 30s
  debug:
    addr: 127.0.0.1:5001
    prometheus:
      enabled: true
      path: /prom
health:
  storagedriver:
    enabled: true
    interval: 500ms
    threshold: 3
"""
    )
    assert config.http.workers == 4
    assert config.http.draintimeout == timedelta(seconds=30)
    assert config.http.debug.addr == "127.0.0.1:5001"
    assert config.http.debug.prometheus.path == "/prom"
    assert config.health.storagedriver.interval == timedelta(milliseconds=500)
    assert config.health.storagedriver.threshold == 3


def test_workers_from_the_environment(load_yaml: Loader) -> None:
    config = load_yaml(BASE, {"REGISTRY_HTTP_WORKERS": "3", "REGISTRY_HTTP_DEBUG_ADDR": ":5001"})
    assert config.http.workers == 3
    assert config.http.debug.addr == ":5001"


@pytest.mark.parametrize("value", ["-1", "many", "1.5"])
def test_bad_workers_name_the_key(load_yaml: Loader, value: str) -> None:
    with pytest.raises(ConfigError, match=r"http\.workers"):
        load_yaml(BASE + f"http: {{workers: {value}}}\n")


def test_bad_debug_addr_names_the_key(load_yaml: Loader) -> None:
    with pytest.raises(ConfigError, match=r"http\.debug\.addr"):
        load_yaml(BASE + "http: {debug: {addr: nowhere}}\n")
