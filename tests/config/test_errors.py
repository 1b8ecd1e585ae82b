"""Every way a config.yml can be wrong, each reported as ``key.path: problem``."""

from __future__ import annotations

from pathlib import Path

import pytest

from cargohold.config import ConfigError, load_config
from tests.config.conftest import Loader

BASE = "version: 0.1\nstorage: inmemory\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # unknown keys, at every depth
        (BASE + "htp: {addr: ':5000'}", "htp: unknown key"),
        (
            "version: 0.1\nstorage: {filesystem: {rootdirectry: /x}}",
            "storage.filesystem.rootdirectry: unknown key",
        ),
        (BASE + "http: {tls: {cert: x}}", "http.tls.cert: unknown key"),
        (BASE + "log: {levle: debug}", "log.levle: unknown key"),
        (
            "version: 0.1\nstorage: {inmemory: , maintenance: {uploadpurging: {enable: true}}}",
            "storage.maintenance.uploadpurging.enable: unknown key",
        ),
        # storage driver count and support
        ("version: 0.1\nstorage: {delete: {enabled: true}}", "storage: no storage driver"),
        ("version: 0.1\nstorage: ", "storage: no storage driver configured"),
        (
            "version: 0.1\nstorage: {filesytem: {}}",
            "storage: no storage driver configured; expected one of filesystem, inmemory, s3 "
            "(unknown keys: filesytem)",
        ),
        (
            "version: 0.1\nstorage: {filesystem: {}, inmemory: }",
            "storage: exactly one storage driver must be configured, got filesystem, inmemory",
        ),
        (
            "version: 0.1\nstorage: {s3: {bucket: b, regoin: r}}",
            "storage.s3.regoin: unknown key",
        ),
        ("version: 0.1\nstorage: {s3: {region: r}}", "storage.s3.bucket: required key is missing"),
        ("version: 0.1\nstorage: azure", "storage.azure: storage driver azure is not supported"),
        ("version: 0.1", "storage: required key is missing"),
        ("version: 0.1\nstorage: [inmemory]", "storage: must be a mapping, got list"),
        # sections and keys Distribution has and cargohold does not yet
        (BASE + "auth: {htpasswd: {realm: r, path: /p}}", "auth: not supported yet"),
        (BASE + "notifications: {endpoints: []}", "notifications: not supported yet"),
        (BASE + "proxy: {remoteurl: https://registry-1.docker.io}", "proxy: not supported yet"),
        (BASE + "middleware: {registry: []}", "middleware: not supported yet"),
        (BASE + "reporting: {bugsnag: {apikey: k}}", "reporting: not supported yet"),
        (BASE + "compatibility: {schema1: {enabled: true}}", "compatibility: not supported yet"),
        (BASE + "policy: {repository: {classes: []}}", "policy: not supported yet"),
        (BASE + "log: {hooks: [{type: mail}]}", "log.hooks: not supported yet"),
        (BASE + "http: {tls: {letsencrypt: {email: e}}}", "http.tls.letsencrypt: not supported"),
        (BASE + "http: {tls: {ciphersuites: [X]}}", "http.tls.ciphersuites: not supported"),
        (BASE + "health: {http: [{uri: http://x}]}", "health.http: not supported yet"),
        (BASE + "health: {file: [{file: /x}]}", "health.file: not supported yet"),
        (BASE + "health: {tcp: [{addr: 'x:1'}]}", "health.tcp: not supported yet"),
        (
            BASE + "validation: {manifests: {indexes: {platforms: all}}}",
            "validation.manifests.indexes: not supported yet",
        ),
        # version
        ("version: 0.2\nstorage: inmemory", "version: unsupported version 0.2; only 0.1 exists"),
        ("storage: inmemory", "version: required key is missing"),
        # enums
        (BASE + "log: {level: verbose}", "log.level: must be 'error', 'warn', 'info' or 'debug'"),
        (BASE + "log: {formatter: xml}", "log.formatter: must be 'text', 'json' or 'logstash'"),
        (BASE + "http: {net: udp}", "http.net: must be 'tcp' or 'unix', got 'udp'"),
        (BASE + "http: {tls: {minimumtls: tls1.4}}", "http.tls.minimumtls: must be"),
        (
            BASE + "http: {tls: {minimumtls: tls1.0}}",
            "http.tls.minimumtls: tls1.0 is insecure and not supported",
        ),
        (
            "version: 0.1\nstorage: {inmemory: , cache: {blobdescriptor: memcached}}",
            "storage.cache.blobdescriptor: must be 'inmemory', 'redis' or ''",
        ),
        # types and ranges
        (
            "version: 0.1\nstorage: {inmemory: , delete: {enabled: maybe}}",
            "storage.delete.enabled: must be a valid boolean",
        ),
        (
            "version: 0.1\nstorage: {filesystem: {maxthreads: 0}}",
            "storage.filesystem.maxthreads: must be greater than or equal to 1, got 0",
        ),
        (
            "version: 0.1\nstorage: {filesystem: {rootdirectory: ''}}",
            "storage.filesystem.rootdirectory: must not be empty",
        ),
        (
            "version: 0.1\nstorage: {inmemory: , cache: {blobdescriptorsize: 0}}",
            "storage.cache.blobdescriptorsize: must be greater than 0",
        ),
        (BASE + "http: [1]", "http: must be a mapping, got list"),
        (BASE + "http: {headers: {X-A: 1}}", "http.headers.X-A: must be a valid list"),
        (BASE + "http: {headers: [X-A]}", "http.headers: must be a mapping, got list"),
        (BASE + "http: {tls: {clientcas: [1.5, {}]}}", "http.tls.clientcas[1]: must be a valid"),
        (
            BASE + "validation: {manifests: {urls: {allow: ['(']}}}",
            "validation.manifests.urls.allow: invalid regular expression '('",
        ),
        # durations
        (
            "version: 0.1\nstorage: {inmemory: , maintenance: {uploadpurging: {age: 1week}}}",
            "storage.maintenance.uploadpurging.age: invalid duration '1week'",
        ),
        (
            "version: 0.1\nstorage: {inmemory: , maintenance: {uploadpurging: {interval: 0s}}}",
            "storage.maintenance.uploadpurging: interval must be positive when enabled",
        ),
        (BASE + "http: {draintimeout: -5s}", "http.draintimeout: duration must not be negative"),
        (BASE + "http: {draintimeout: true}", "http.draintimeout: expected a duration"),
        (BASE + "redis: {addr: 'r:1', readtimeout: 0}", "redis.readtimeout: must be positive"),
        # addresses and URLs
        (BASE + "http: {addr: localhost}", "http.addr: expected HOST:PORT or :PORT"),
        (BASE + "http: {addr: ':99999'}", "http.addr: port must be a number from 0 to 65535"),
        (BASE + "http: {addr: '::1:5000'}", "http.addr: IPv6 hosts must be bracketed"),
        (BASE + "http: {net: unix, addr: ''}", "http.addr: must be a socket path"),
        (BASE + "http: {debug: {addr: nope}}", "http.debug.addr: expected HOST:PORT"),
        (BASE + "http: {host: myregistry.org}", "http.host: must be an absolute http(s) URL"),
        (BASE + "http: {prefix: reg/}", "http.prefix: must start with '/'"),
        (BASE + "redis: {password: x}", "redis.addr: required key is missing"),
        (BASE + "redis: {addr: ':6379'}", "redis.addr: must name a host"),
        # cross-field rules
        (BASE + "http: {tls: {certificate: /c}}", "http.tls: certificate and key must be set"),
        (BASE + "http: {tls: {clientcas: [/ca]}}", "http.tls: clientcas needs certificate"),
        (
            BASE + "redis: {addr: 'r:1', tls: {key: /k}}",
            "redis.tls: certificate and key must be set together",
        ),
        (
            "version: 0.1\nstorage: {inmemory: , cache: {blobdescriptor: redis}}",
            "redis: section required because storage.cache.blobdescriptor is redis",
        ),
        (
            "version: 0.1\nstorage: {inmemory: , cache: {blobdescriptor: redis, layerinfo: inmemory}}",
            "storage.cache: blobdescriptor and its deprecated alias layerinfo disagree",
        ),
    ],
)
def test_error_names_the_key_path(load_yaml: Loader, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml(text)
    assert any(problem.startswith(expected) for problem in caught.value.problems), (
        caught.value.problems
    )
    assert isinstance(caught.value, ValueError)


def test_all_problems_are_reported_at_once(load_yaml: Loader) -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml(BASE + "http: {net: udp, relativeurls: sometimes}\nlog: {level: loud}")
    assert len(caught.value.problems) == 3
    assert str(caught.value).count("\n") == 2


@pytest.mark.parametrize(
    "text",
    [
        BASE + "http: {secret: [s3cr3t-value]}",
        BASE + "redis: {addr: 'r:1', password: {p: s3cr3t-value}}",
    ],
)
def test_secret_values_are_never_echoed(load_yaml: Loader, text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml(text)
    assert "s3cr3t-value" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("version: 0.1\nstorage: [", "invalid YAML"),
        ("", "config file is empty"),
        ("- version: 0.1", "must be a mapping of sections, got list"),
        (
            "version: 0.1\nstorage: inmemory\nstorage: inmemory\n",
            r"duplicate key 'storage' \(line 3\)",
        ),
        ("version: 0.1\nstorage:\n  inmemory:\n  delete: {}\n  delete: {}\n", "duplicate key"),
    ],
)
def test_file_level_errors_name_the_file(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "config.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected) as caught:
        load_config(path, environ={})
    assert str(caught.value).startswith(str(path))


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    with pytest.raises(ConfigError, match=r"nope\.yml: cannot read config file: No such file"):
        load_config(missing, environ={})
