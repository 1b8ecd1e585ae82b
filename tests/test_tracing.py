"""Tracing follows the OTEL_* environment only, and costs nothing (not even an import) when off."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cargohold.tracing import Tracing, TracingUnavailable, create_tracing, tracing_requested


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "registry"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console,otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_requested(environ: dict[str, str], expected: bool) -> None:
    assert tracing_requested(environ) is expected


def test_off_returns_none() -> None:
    assert create_tracing({}) is None
    assert create_tracing({"OTEL_TRACES_EXPORTER": "none"}) is None


async def test_exporters_are_built_from_the_environment() -> None:
    tracing = create_tracing(
        {
            "OTEL_TRACES_EXPORTER": "console,otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
        }
    )
    assert tracing is not None
    processors = tracing.provider._active_span_processor._span_processors
    exporters = {type(p._batch_processor._exporter).__name__ for p in processors}  # type: ignore[attr-defined]
    assert exporters == {"ConsoleSpanExporter", "OTLPSpanExporter"}
    assert tracing.provider.resource.attributes["service.name"] == "cargohold"
    tracing.provider.shutdown()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "unsupported exporter 'zipkin'"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "unsupported protocol 'http/json'",
        ),
    ],
)
def test_unsupported_settings_fail_loudly(environ: dict[str, str], message: str) -> None:
    with pytest.raises(TracingUnavailable, match=message):
        create_tracing(environ)


def test_spans_and_status() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = Tracing(provider)
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracing.server_span("GET /v2/", {"traceparent": parent}, {"a": "b"}) as span:
        assert tracing.trace_id(span) == "0af7651916cd43dd8448eb211c80319c"
        with tracing.span("storage.Stat", {"storage.path": "/x"}):
            pass
        tracing.response_status(span, 503)
    child, server = exporter.get_finished_spans()
    assert child.parent is not None
    assert child.parent.span_id == server.context.span_id
    assert server.parent is not None
    assert server.parent.span_id == 0xB7AD6B7169203331
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 503
    assert not server.status.is_ok


def test_an_untraced_registry_never_imports_opentelemetry() -> None:
    script = textwrap.dedent(
        """
        import os, sys
        for name in list(os.environ):
            if name.startswith("OTEL_"):
                del os.environ[name]
        from cargohold.api import create_app
        from cargohold.config import validate_config
        create_app(validate_config({"storage": {"inmemory": None}}))
        loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
        print(loaded)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
