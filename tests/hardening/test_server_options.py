"""ServerOptions from config, and parse errors rendered as OCI error bodies with the right status."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from aiohttp.http_exceptions import BadHttpMessage, BadHttpMethod, LineTooLong

from cargohold.api.context import ApiSettings
from cargohold.api.server_options import ServerOptions, parse_error_response
from cargohold.config import validate_config
from cargohold.config.env import apply_env_overrides


def body(status: int, exc: BaseException | None) -> tuple[int, dict[str, object]]:
    resp = parse_error_response(status, exc)
    assert resp.body is not None
    assert isinstance(resp.body, bytes)
    doc = json.loads(resp.body)
    assert resp.content_type == "application/json"
    return resp.status, doc["errors"][0]


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (LineTooLong(bytearray(b"/v2/aaaa..."), 8190), 414, "UNKNOWN"),  # type: ignore[arg-type]  # C parser passes the URL buffer
        (LineTooLong(b"GET /v2/aaaa...", 8190), 414, "UNKNOWN"),  # Python parser: the line
        (LineTooLong(b"X-Big: aaaa...", 8190), 431, "UNKNOWN"),
        (LineTooLong("Cookie: a=b", 8190), 431, "UNKNOWN"),
        (BadHttpMessage("Too many headers received"), 431, "UNKNOWN"),
        (BadHttpMethod("FOO"), 405, "UNSUPPORTED"),
        (BadHttpMessage("Invalid header value char:\n\n  b'X: a'"), 400, "UNKNOWN"),
        (ValueError("boom"), 500, "UNKNOWN"),
        (None, 500, "UNKNOWN"),
    ],
)
def test_parse_errors_map_to_spec_statuses(
    exc: BaseException | None, status: int, code: str
) -> None:
    given = 500 if exc is None or isinstance(exc, ValueError) else 400
    got, error = body(given, exc)
    assert got == status
    assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in str(error["message"])
    assert "\n" not in str(error["message"])  # the parser's multi-line caret display is cut


def test_internal_error_message_names_nothing_internal() -> None:
    _, error = body(500, RuntimeError("/secret/path/to/root"))
    assert "/secret" not in json.dumps(error)


def test_defaults_and_config_keys() -> None:
    default = validate_config({"storage": {"inmemory": {}}})
    assert ServerOptions.from_config(default.http).idle_timeout == 120.0
    assert ApiSettings.from_config(default).read_timeout == 60.0
    config = validate_config(
        {
            "storage": {"inmemory": {}},
            "http": {"timeout": {"idle": "30s", "read": "2s", "write": "1m"}},
        }
    )
    options = ServerOptions.from_config(config.http)
    assert options.idle_timeout == 30.0
    assert options.lingering_time == 2.0  # never lingers longer than a read may stall
    settings = ApiSettings.from_config(config)
    assert (settings.read_timeout, settings.write_timeout) == (2.0, 60.0)
    kwargs = options.handler_kwargs()
    assert kwargs["keepalive_timeout"] == 30.0
    assert kwargs["max_line_size"] == kwargs["max_field_size"] == 8190


def test_zero_disables_timeouts() -> None:
    config = validate_config(
        {"storage": {"inmemory": {}}, "http": {"timeout": {"idle": 0, "read": 0, "write": 0}}}
    )
    kwargs = ServerOptions.from_config(config.http).handler_kwargs()
    assert kwargs["keepalive_timeout"] > 24 * 3600
    assert kwargs["lingering_time"] == 10.0
    assert ApiSettings.from_config(config).read_timeout == 0.0


def test_environment_overrides_timeouts() -> None:
    raw, _ = apply_env_overrides(
        {"storage": {"inmemory": {}}}, {"REGISTRY_HTTP_TIMEOUT_READ": "5s"}
    )
    assert validate_config(raw).http.timeout.read == timedelta(seconds=5)


def test_unknown_timeout_key_is_refused() -> None:
    with pytest.raises(Exception, match=r"http\.timeout\.readd"):
        validate_config({"storage": {"inmemory": {}}, "http": {"timeout": {"readd": "1s"}}})
