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

Access lines take a shortcut when cargohold's handler is the only one that would see them
(:func:`log_access`): the same processors render them without a ``LogRecord`` and the generic
stdlib/structlog machinery around it, so the line is identical and costs a fraction.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO, cast

import structlog
from structlog.processors import CallsiteParameter
from structlog.typing import EventDict, Processor, WrappedLogger

from cargohold.config import LogConfig

__all__ = ["ACCESS_LOGGER", "REDACTED", "configure_logging", "log_access", "redact_secrets"]

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


@functools.lru_cache(maxsize=4096)
def _names_secret(key: str) -> bool:
    # Cached: a process logs a few dozen distinct keys, and this runs for each key of each line.
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def redact_secrets(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Replace the value of every key naming a secret, so no caller can leak one by accident."""
    for key in event_dict:
        if isinstance(key, str) and _names_secret(key):
            event_dict[key] = REDACTED
    return event_dict


@functools.lru_cache(maxsize=4096)
def _valid_logfmt_key(key: str) -> bool:
    return not any(c <= " " for c in key)


class _Logfmt:
    """structlog's ``LogfmtRenderer(key_order=..., bool_as_flag=False)``, same output, faster.

    Key checks are cached and integers skip the quoting checks; ``tests/test_logging.py``
    compares the two renderers value by value.
    """

    def __init__(self, key_order: tuple[str, ...]) -> None:
        self._key_order = key_order

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> str:
        items: list[tuple[str, Any]] = [(key, event_dict.pop(key, None)) for key in self._key_order]
        items += event_dict.items()
        elements: list[str] = []
        for key, value in items:
            if not _valid_logfmt_key(key):
                msg = f'Invalid key: "{key}"'
                raise ValueError(msg)
            if value is None:
                elements.append(f"{key}=")
                continue
            kind = type(value)
            if kind is int:
                elements.append(f"{key}={value}")
                continue
            if kind is bool:
                value = "true" if value else "false"
            value = str(value)
            quote = " " in value or "=" in value or '"' in value
            if quote and "\\" in value:
                value = value.replace("\\", "\\\\")
            if '"' in value:
                value = value.replace('"', '\\"')
            if "\n" in value:
                value = value.replace("\n", "\\n")
            elements.append(f'{key}="{value}"' if quote else f"{key}={value}")
        return " ".join(elements)


class _IsoUtcStamper:
    """``TimeStamper(fmt="iso", utc=True)``'s value (``2026-01-02T03:04:05.678901Z``), cheaper.

    The date and time of day are formatted once per second, the microseconds per line; as with
    ``datetime.isoformat``, a time on the exact second has no fractional part.
    """

    def __init__(self, key: str) -> None:
        self._key = key
        self._second: tuple[int, str] = (-1, "")

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        second, nanos = divmod(time.time_ns(), 1_000_000_000)
        cached, prefix = self._second
        if second != cached:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, prefix)  # one tuple: threads never see a torn pair
        micros = nanos // 1000
        event_dict[self._key] = f"{prefix}.{micros:06d}Z" if micros else f"{prefix}Z"
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
            _Logfmt(("time", "level", "msg")),
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


class _Handler(logging.StreamHandler[TextIO]):
    """The root handler :func:`configure_logging` installs; it can also write access lines directly.

    ``direct`` is the tail of the formatter's chain (time stamp, static fields, redaction,
    renderer) that :func:`log_access` runs itself, or None when the shortcut would not give the
    same line (``log.reportcaller`` adds the call site, which only a ``LogRecord`` carries).
    """

    def __init__(
        self,
        stream: TextIO,
        formatter: logging.Formatter,
        direct: list[Processor] | None,
    ) -> None:
        super().__init__(stream)
        self.set_name(_HANDLER_NAME)
        self.setFormatter(formatter)
        self._configured = formatter
        self._direct = direct

    def can_write_directly(self) -> bool:
        """Whether :meth:`write_event` would write what this handler's formatter would."""
        return (
            self._direct is not None
            and self.formatter is self._configured
            and not self.filters
            and self.level <= logging.INFO
        )

    def write_event(self, event_dict: EventDict) -> None:
        """Render an event the foreign pre-chain already built, and write it as one line."""
        assert self._direct is not None  # callers check can_write_directly()
        rendered: Any = event_dict
        for processor in self._direct:
            rendered = processor(None, "info", rendered)
        line = cast(str, rendered) + self.terminator
        self.acquire()
        try:
            self.stream.write(line)
            self.flush()
        except RecursionError:
            raise
        except Exception:
            # As StreamHandler.emit does: report the failure on stderr, never raise into the caller.
            self.handleError(logging.makeLogRecord({"name": ACCESS_LOGGER, "msg": line}))
        finally:
            self.release()


_access_logger = logging.getLogger(ACCESS_LOGGER)


def _direct_handler(logger: logging.Logger) -> _Handler | None:
    """cargohold's handler if it is the only one an INFO record of ``logger`` would reach."""
    if logger.disabled or logger.filters:
        return None
    found: _Handler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if found is not None or not isinstance(handler, _Handler):
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    return found if found is not None and found.can_write_directly() else None


def log_access(message: str, args: tuple[object, ...], fields: Mapping[str, object]) -> None:
    """Log one access line (``message % args`` with ``fields`` as its keys) at INFO.

    When cargohold's handler is the only receiver, the line is built from the same processors
    the formatter runs, without a ``LogRecord``; otherwise (tests capturing records, extra
    handlers, ``log.reportcaller``) it goes through ``logging`` as any other line.
    """
    logger = _access_logger
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _direct_handler(logger)
    if handler is None:
        logger.info(message, *args, extra=fields)
        return
    # The foreign pre-chain, key for key and in the same order, as ProcessorFormatter builds it.
    event_dict = structlog.contextvars.merge_contextvars(None, "info", {"event": message % args})
    event_dict.update(fields)
    event_dict["logger"] = ACCESS_LOGGER
    event_dict["level"] = "info"
    handler.write_event(event_dict)


def configure_logging(log: LogConfig, stream: TextIO | None = None) -> None:
    """Configure structlog and the stdlib root logger from ``log``; lines go to ``stream`` (stderr).

    Idempotent: calling it again replaces the handler it installed before (and only that one).
    """
    stamper = _IsoUtcStamper("time")
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.ExtraAdder(),
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        stamper,
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
    # Shared by the formatter and the direct access-line path, so both render alike.
    tail: list[Processor] = [_StaticFields(log.fields), redact_secrets, *_renderers(log.formatter)]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            *tail,
        ],
    )
    handler = _Handler(
        stream if stream is not None else sys.stderr,
        formatter,
        None if log.reportcaller else [stamper, *tail],
    )

    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == _HANDLER_NAME:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_LEVELS[log.level])

    # The access log has its own switch: an explicit level on its logger lets its records reach
    # the root handler even when the root level is above INFO.
    _access_logger.setLevel(logging.CRITICAL + 1 if log.accesslog.disabled else logging.INFO)
