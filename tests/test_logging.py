"""cargohold.logging: formats, level, static fields, the access log switch, stdlib routing."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from cargohold.config import AccessLogConfig, LogConfig
from cargohold.logging import (
    ACCESS_LOGGER,
    _IsoUtcStamper,
    _Logfmt,
    configure_logging,
    log_access,
)


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


# --- the access-line shortcut and the logfmt renderer -------------------------------------------

ACCESS_ARGS: tuple[object, ...] = ("127.0.0.1", "HEAD", "/v2/a/blobs/sha256:00", "1.1", 200, 0)
ACCESS_FIELDS: dict[str, object] = {
    "method": "HEAD",
    "path": "/v2/a/blobs/sha256:00",
    "route": "blob",
    "repository": None,
    "status": 200,
    "bytes": 0,
    "duration": 0.000123,
    "remote": "127.0.0.1",
    "user_agent": 'curl/8 "quoted" = x',
    "error": "OSError: a\nb\\c",
}
ACCESS_MESSAGE = '%s "%s %s HTTP/%s" %d %d'


@contextlib.contextmanager
def only_our_handler() -> Iterator[None]:
    """Detach pytest's capturing handlers, which (as any extra handler) turn the shortcut off."""
    root = logging.getLogger()
    others = [h for h in root.handlers if h.get_name() != "cargohold"]
    for handler in others:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in others:
            root.addHandler(handler)


def without_time(line: str) -> str:
    """A rendered line with its time stamp blanked (the only key that differs between calls)."""
    if line.startswith("{"):
        entry = json.loads(line)
        for key in ("time", "@timestamp"):
            if key in entry:
                entry[key] = "T"
        return json.dumps(entry)
    head, _, rest = line.partition(" ")
    assert head.startswith("time=")
    return rest


@pytest.mark.parametrize("formatter", ["text", "json", "logstash"])
def test_the_access_shortcut_writes_what_logging_would(
    formatter: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = {"service": "registry", "route": "static loses", "api_secret": "s3cr3t"}
    stream = configured(formatter=formatter, fields=fields)
    access = logging.getLogger(ACCESS_LOGGER)
    with (
        only_our_handler(),
        structlog.contextvars.bound_contextvars(request_id="r-1", session_token="t0k3n"),
    ):
        access.info(ACCESS_MESSAGE, *ACCESS_ARGS, extra=ACCESS_FIELDS)
        # The shortcut must not go through the logger at all.
        monkeypatch.setattr(access, "info", None)
        log_access(ACCESS_MESSAGE, ACCESS_ARGS, ACCESS_FIELDS)
    through_logging, direct = stream.getvalue().splitlines()
    assert without_time(direct) == without_time(through_logging)
    assert "s3cr3t" not in direct
    assert "t0k3n" not in direct
    assert "r-1" in direct


def test_access_lines_reach_other_handlers_through_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = configured(formatter="json")
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        log_access(ACCESS_MESSAGE, ACCESS_ARGS, ACCESS_FIELDS)
    [record] = caplog.records
    assert record.getMessage() == ACCESS_MESSAGE % ACCESS_ARGS
    assert record.__dict__["route"] == "blob"
    [entry] = json_lines(stream)  # and our own handler still writes it once
    assert entry["status"] == 200


def test_access_lines_with_reportcaller_carry_the_call_site() -> None:
    stream = configured(formatter="json", reportcaller=True)
    with only_our_handler():
        log_access(ACCESS_MESSAGE, ACCESS_ARGS, ACCESS_FIELDS)
    [entry] = json_lines(stream)
    assert entry["logger"] == ACCESS_LOGGER
    assert "pathname" in entry


def test_disabled_access_log_skips_the_shortcut_too() -> None:
    stream = configured(formatter="json", accesslog=AccessLogConfig(disabled=True))
    with only_our_handler():
        log_access(ACCESS_MESSAGE, ACCESS_ARGS, ACCESS_FIELDS)
    assert stream.getvalue() == ""


def test_a_replaced_formatter_is_honoured() -> None:
    stream = configured(formatter="json")
    [ours] = [h for h in logging.getLogger().handlers if h.get_name() == "cargohold"]
    ours.setFormatter(logging.Formatter("plain %(message)s"))
    with only_our_handler():
        log_access(ACCESS_MESSAGE, ACCESS_ARGS, ACCESS_FIELDS)
    assert stream.getvalue() == f"plain {ACCESS_MESSAGE % ACCESS_ARGS}\n"


class Custom:
    def __str__(self) -> str:
        return 'a "b" c'


LOGFMT_VALUES: list[object] = [
    None,
    True,
    False,
    0,
    -12,
    3.5,
    "",
    "plain",
    "with space",
    "a=b",
    'say "hi"',
    "back\\slash",
    "back\\slash and space",
    "new\nline",
    'all \\ " = \n',
    Custom(),
    ["list", 1],
]


@pytest.mark.parametrize("value", LOGFMT_VALUES, ids=repr)
def test_logfmt_renders_as_structlog_does(value: object) -> None:
    event = {"msg": "m", "level": "info", "key": value, "time": "t", "other": 1}
    reference = structlog.processors.LogfmtRenderer(
        key_order=["time", "level", "msg"], bool_as_flag=False
    )
    ours = _Logfmt(("time", "level", "msg"))
    assert ours(None, "info", dict(event)) == reference(None, "info", dict(event))


def test_logfmt_rejects_keys_structlog_rejects() -> None:
    with pytest.raises(ValueError, match="Invalid key"):
        _Logfmt(("time",))(None, "info", {"bad key": 1})


@pytest.mark.parametrize(
    "nanos",
    [
        1_795_000_000_000_000_000,  # on the second: no fraction, as datetime.isoformat
        1_795_000_000_000_000_999,  # under a microsecond past it
        1_795_000_000_123_456_789,
        1_795_000_059_999_999_999,
        951_782_400_000_001_000,  # 2000-02-29
    ],
)
def test_time_stamps_are_iso_utc_as_structlog_writes_them(
    nanos: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: nanos)
    stamper = _IsoUtcStamper("time")
    second, rest = divmod(nanos, 1_000_000_000)
    expected = (
        datetime.datetime.fromtimestamp(second, tz=datetime.UTC)
        .replace(microsecond=rest // 1000)
        .isoformat()
        .replace("+00:00", "Z")
    )
    assert stamper(None, "info", {})["time"] == expected
    assert stamper(None, "info", {})["time"] == expected  # the cached second gives the same
