"""cargohold.logging: formats, level, static fields, the access log switch, stdlib routing."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import structlog

from cargohold.config import AccessLogConfig, LogConfig
from cargohold.logging import ACCESS_LOGGER, configure_logging


def configured(**settings: Any) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(LogConfig(**settings), stream=stream)
    return stream


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_text_is_logfmt_with_time_level_msg_first() -> None:
    stream = configured(fields={"service": "registry"})
    structlog.get_logger("cargohold.test").info("blob served", repository="library/alpine")
    [line] = stream.getvalue().splitlines()
    assert line.startswith("time=")
    assert ' level=info msg="blob served" ' in line
    assert "repository=library/alpine" in line
    assert line.endswith("service=registry")


def test_json_lines_and_static_fields() -> None:
    stream = configured(formatter="json", fields={"service": "registry", "repository": "x"})
    structlog.get_logger("cargohold.test").warning("slow", repository="own/value", ms=12)
    [entry] = json_lines(stream)
    assert list(entry)[:3] == ["time", "level", "msg"]
    assert entry["level"] == "warning"
    assert entry["msg"] == "slow"
    assert entry["ms"] == 12
    assert entry["service"] == "registry"
    assert entry["repository"] == "own/value"  # a static field never overrides the event's own
    assert entry["logger"] == "cargohold.test"


def test_logstash_schema() -> None:
    stream = configured(formatter="logstash", fields={"env": "staging"})
    structlog.get_logger().info("hello")
    [entry] = json_lines(stream)
    assert entry["@version"] == "1"
    assert entry["message"] == "hello"
    assert entry["@timestamp"].endswith("Z")
    assert entry["env"] == "staging"
    assert "msg" not in entry
    assert "time" not in entry


def test_stdlib_loggers_are_routed_through_structlog() -> None:
    stream = configured(formatter="json", fields={"service": "registry"})
    logging.getLogger("aiohttp.server").error("bad request from %s", "1.2.3.4")
    [entry] = json_lines(stream)
    assert entry["logger"] == "aiohttp.server"
    assert entry["level"] == "error"
    assert entry["msg"] == "bad request from 1.2.3.4"
    assert entry["service"] == "registry"


def test_level_filters_structlog_and_stdlib() -> None:
    stream = configured(formatter="json", level="warn")
    structlog.get_logger("a").info("hidden")
    logging.getLogger("b").info("hidden too")
    structlog.get_logger("a").warning("shown")
    logging.getLogger("b").error("shown too")
    assert [entry["msg"] for entry in json_lines(stream)] == ["shown", "shown too"]
    stream = configured(formatter="json", level="debug")
    structlog.get_logger("a").debug("now shown")
    assert [entry["msg"] for entry in json_lines(stream)] == ["now shown"]


def test_access_log_ignores_level_unless_disabled() -> None:
    stream = configured(formatter="json", level="error")
    logging.getLogger(ACCESS_LOGGER).info('127.0.0.1 "GET /v2/ HTTP/1.1" 200')
    [entry] = json_lines(stream)
    assert entry["logger"] == ACCESS_LOGGER
    stream = configured(formatter="json", accesslog=AccessLogConfig(disabled=True))
    logging.getLogger(ACCESS_LOGGER).info('127.0.0.1 "GET /v2/ HTTP/1.1" 200')
    assert stream.getvalue() == ""


def test_exceptions_are_rendered() -> None:
    stream = configured(formatter="json")
    try:
        raise RuntimeError("disk on fire")
    except RuntimeError:
        logging.getLogger("x").exception("storage failed")
    [entry] = json_lines(stream)
    assert "RuntimeError: disk on fire" in entry["exception"]


def test_reportcaller_adds_the_call_site() -> None:
    stream = configured(formatter="json", reportcaller=True)
    structlog.get_logger().info("here")
    [entry] = json_lines(stream)
    assert entry["func_name"] == "test_reportcaller_adds_the_call_site"
    assert entry["pathname"].endswith("test_logging.py")


def test_reconfiguring_replaces_the_handler() -> None:
    first = configured(formatter="json")
    second = configured(formatter="text")
    structlog.get_logger().info("once")
    assert first.getvalue() == ""
    assert second.getvalue().count("msg=once") == 1
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "cargohold"]
    assert len(ours) == 1


def test_secrets_are_redacted_whoever_logs_them() -> None:
    stream = configured(formatter="json")
    structlog.get_logger("cargohold.test").info(
        "connecting",
        password="hunter2",
        redis_password="x1",
        Authorization="Bearer abc",
        user="bob",
    )
    logging.getLogger("other.library").warning("login", extra={"api_token": "t0k3n"})
    first, second = json_lines(stream)
    assert first["password"] == first["redis_password"] == first["Authorization"] == "[redacted]"
    assert first["user"] == "bob"
    assert second["api_token"] == "[redacted]"
    assert "hunter2" not in stream.getvalue()
    assert "t0k3n" not in stream.getvalue()


def test_stdlib_extras_and_bound_context_reach_the_line() -> None:
    stream = configured(formatter="json")
    with structlog.contextvars.bound_contextvars(request_id="abc123"):
        logging.getLogger("aiohttp.server").error("boom %d", 7, extra={"route": "blob"})
    logging.getLogger("aiohttp.server").error("after")
    inside, after = json_lines(stream)
    assert inside["msg"] == "boom 7"
    assert inside["request_id"] == "abc123"
    assert inside["route"] == "blob"
    assert "request_id" not in after
