"""OpenTelemetry tracing, switched on by the standard ``OTEL_*`` environment variables only.

As in CNCF Distribution 3, tracing has no config.yml section: ``OTEL_TRACES_EXPORTER``
(``otlp``, ``console``, ``none``; several comma-separated) or an OTLP endpoint
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) turn it on, and
``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` keep it off. The exporter, sampler,
batching and resource read their usual ``OTEL_*`` variables. Without any of these variables
:func:`create_tracing` returns None and the ``opentelemetry`` packages are never imported, so an
untraced registry pays nothing. The packages are the ``otel`` extra: ``pip install cargohold[otel]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue

__all__ = [
    "ENDPOINT_VARIABLES",
    "SERVICE_NAME",
    "Tracing",
    "TracingUnavailable",
    "create_tracing",
    "tracing_requested",
]

SERVICE_NAME: Final = "cargohold"
#: Any of these set (non-empty) asks for OTLP export unless OTEL_TRACES_EXPORTER says otherwise.
ENDPOINT_VARIABLES: Final = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


class TracingUnavailable(ValueError):
    """The environment asks for tracing that cannot be set up (packages missing, bad exporter)."""


def tracing_requested(environ: Mapping[str, str]) -> bool:
    """Whether ``environ`` asks for traces to be exported."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = _exporter_names(environ)
    if exporters is not None:
        return any(name != "none" for name in exporters)
    return any(environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def _exporter_names(environ: Mapping[str, str]) -> list[str] | None:
    raw = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    return [name.strip() for name in raw.split(",") if name.strip()] if raw else None


class Tracing:
    """A tracer over its own provider (never the process-global one); ``aclose`` flushes spans."""

    def __init__(self, provider: TracerProvider) -> None:
        from opentelemetry import propagate, trace

        self.provider = provider
        self.tracer = provider.get_tracer("cargohold")
        self._extract = propagate.extract
        self._server = trace.SpanKind.SERVER
        self._error = trace.Status(trace.StatusCode.ERROR)

    @contextlib.contextmanager
    def server_span(
        self, name: str, headers: Mapping[str, str], attributes: Mapping[str, AttributeValue]
    ) -> Iterator[Span]:
        """A SERVER span continuing the caller's trace (``traceparent``, per OTEL_PROPAGATORS)."""
        parent = self._extract(headers)
        with self.tracer.start_as_current_span(
            name, context=parent, kind=self._server, attributes=attributes
        ) as span:
            yield span

    @contextlib.contextmanager
    def span(self, name: str, attributes: Mapping[str, AttributeValue]) -> Iterator[Span]:
        """An INTERNAL span, child of the current one; an escaping exception marks it failed."""
        with self.tracer.start_as_current_span(name, attributes=attributes) as span:
            yield span

    def response_status(self, span: Span, status: int) -> None:
        """Record an HTTP status on a server span; 5xx marks it failed (OTel HTTP semconv)."""
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(self._error)

    @staticmethod
    def trace_id(span: Span) -> str:
        """The span's trace id as 32 hex digits, for log lines."""
        return format(span.get_span_context().trace_id, "032x")

    async def aclose(self) -> None:
        """Export what is buffered and stop the exporters (in a thread: exporting may block)."""
        await asyncio.to_thread(self.provider.shutdown)


def create_tracing(environ: Mapping[str, str] | None = None) -> Tracing | None:
    """Tracing as ``environ`` (os.environ by default) asks for it, or None when it does not.

    Raises TracingUnavailable when tracing is asked for but the ``otel`` extra is missing or
    ``OTEL_TRACES_EXPORTER``/``OTEL_EXPORTER_OTLP_PROTOCOL`` name something unsupported.
    """
    environ = os.environ if environ is None else environ
    if not tracing_requested(environ):
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise TracingUnavailable(
            f"OTEL_* variables ask for tracing but OpenTelemetry is not installed ({exc}); "
            "install cargohold[otel] or unset them"
        ) from None
    exporters = _exporters(environ)
    attributes: dict[str, AttributeValue] = {}
    if not environ.get("OTEL_SERVICE_NAME") and "service.name=" not in environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    ):
        attributes["service.name"] = SERVICE_NAME
    provider = TracerProvider(resource=Resource.create(attributes))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider)


def _exporters(environ: Mapping[str, str]) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in _exporter_names(environ) or ["otlp"]:
        if name == "none":
            continue
        if name == "otlp":
            exporters.append(_otlp(environ))
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        else:
            raise TracingUnavailable(
                f"OTEL_TRACES_EXPORTER: unsupported exporter {name!r} (known: otlp, console, none)"
            )
    return exporters


def _otlp(environ: Mapping[str, str]) -> SpanExporter:
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    try:
        if protocol == "http/protobuf":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        elif protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found, no-redef, unused-ignore]
                OTLPSpanExporter,
            )
        else:
            raise TracingUnavailable(
                f"OTEL_EXPORTER_OTLP_PROTOCOL: unsupported protocol {protocol!r} "
                "(known: http/protobuf, grpc)"
            )
    except ImportError as exc:
        raise TracingUnavailable(
            f"the OTLP {protocol} exporter is not installed ({exc}); install cargohold[otel]"
            + (" and opentelemetry-exporter-otlp-proto-grpc" if protocol == "grpc" else "")
        ) from None
    exporter: SpanExporter = OTLPSpanExporter()
    return exporter
