"""Logging set-up: structlog renders every line, stdlib loggers (aiohttp's too) are routed through it.

Line formats follow CNCF Distribution's ``log.formatter``: ``text`` is logfmt with ``time``,
``level`` and ``msg`` first (as logrus prints), ``json`` one object per line with the same keys,
``logstash`` one object with ``@timestamp``/``@version``/``message``. ``log.fields`` are added to
every line without overriding a line's own keys. The access log (logger ``cargohold.access``,
one line per request written by the API's instrumentation) is written whatever ``log.level``
says unless ``log.accesslog.disabled``, as in Distribution.

Values bound with ``structlog.contextvars`` (the API binds ``request_id`` for each request) reach
every line, stdlib records included; a stdlib record's ``extra`` keys become line keys. Keys that
name secrets (``password``, ``secret``, ``token``, ``authorization``, ``cookie``) are redacted on
every line, whoever logs them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.processors import CallsiteParameter
from structlog.typing import EventDict, Processor, WrappedLogger

from cargohold.config import LogConfig

__all__ = ["ACCESS_LOGGER", "REDACTED", "configure_logging", "redact_secrets"]

ACCESS_LOGGER = "cargohold.access"
REDACTED = "[redacted]"

_HANDLER_NAME = "cargohold"
_LEVELS = {
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}


class _StaticFields:
    """Adds ``log.fields`` to each event without replacing keys the event already has."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self._fields = dict(fields)

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        for key, value in self._fields.items():
            event_dict.setdefault(key, value)
        return event_dict


_SECRET_WORDS = ("password", "secret", "token", "authorization", "cookie")


def redact_secrets(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Replace the value of every key naming a secret, so no caller can leak one by accident."""
    for key in event_dict:
        if isinstance(key, str) and any(word in key.lower() for word in _SECRET_WORDS):
            event_dict[key] = REDACTED
    return event_dict


def _logstash(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Rename keys to the logstash event schema (``@timestamp``, ``@version``, ``message``)."""
    event_dict["@timestamp"] = event_dict.pop("time", None)
    event_dict["@version"] = "1"
    event_dict["message"] = event_dict.pop("event", "")
    return event_dict


def _leading(*keys: str) -> Processor:
    """Move ``keys`` to the front of each event so JSON lines start with time, level and msg."""

    def reorder(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        first = {key: event_dict.pop(key) for key in keys if key in event_dict}
        return {**first, **event_dict}

    return reorder


def _renderers(formatter: str) -> list[Processor]:
    if formatter == "text":
        return [
            structlog.processors.EventRenamer("msg"),
            structlog.processors.LogfmtRenderer(
                key_order=["time", "level", "msg"], bool_as_flag=False
            ),
        ]
    if formatter == "json":
        return [
            structlog.processors.EventRenamer("msg"),
            _leading("time", "level", "msg"),
            structlog.processors.JSONRenderer(),
        ]
    return [
        _logstash,
        _leading("@timestamp", "@version", "level", "message"),
        structlog.processors.JSONRenderer(),
    ]


def configure_logging(log: LogConfig, stream: TextIO | None = None) -> None:
    """Configure structlog and the stdlib root logger from ``log``; lines go to ``stream`` (stderr).

    Idempotent: calling it again replaces the handler it installed before (and only that one).
    """
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.ExtraAdder(),
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    ]
    if log.reportcaller:
        shared.append(
            structlog.processors.CallsiteParameterAdder(
                [CallsiteParameter.PATHNAME, CallsiteParameter.LINENO, CallsiteParameter.FUNC_NAME]
            )
        )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached, so a later configure_logging call (tests, reload) takes effect everywhere.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _StaticFields(log.fields),
            redact_secrets,
            *_renderers(log.formatter),
        ],
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == _HANDLER_NAME:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_LEVELS[log.level])

    # The access log has its own switch: an explicit level on its logger lets its records reach
    # the root handler even when the root level is above INFO.
    access = logging.getLogger(ACCESS_LOGGER)
    access.setLevel(logging.CRITICAL + 1 if log.accesslog.disabled else logging.INFO)
