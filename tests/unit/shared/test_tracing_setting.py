"""Tracing is off by default and on with one setting, the standard OTLP endpoint variable."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import tracing
from shared.service import ServiceParts, create_service_app
from shared.settings import ServiceSettings

DATABASE = "postgresql+asyncpg://nobody@127.0.0.1:1/none"


def parts(settings: ServiceSettings) -> ServiceParts:
    return ServiceParts(
        name="unit",
        title="unit",
        description="unit",
        settings=settings,
        routers=[],
        migrations=Path("unused"),
    )


# Unset, or empty as the Kubernetes config map ships it.
@pytest.mark.parametrize("endpoint", [None, ""])
def test_without_the_endpoint_nothing_is_traced(
    monkeypatch: pytest.MonkeyPatch, endpoint: str | None
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    if endpoint is None:
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    else:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    create_service_app(parts(ServiceSettings(database_url=DATABASE)))
    assert not tracing.enabled()
    assert tracing.current_context() is None
    assert tracing.current_trace_id() is None


async def test_the_endpoint_turns_tracing_on_for_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nothing listens there: the exporter gives up on its one batch at shutdown, in a second.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    settings = ServiceSettings(database_url=DATABASE)
    assert settings.otel_exporter_otlp_endpoint == "http://127.0.0.1:9"
    exporter = InMemorySpanExporter()
    try:
        app = create_service_app(parts(settings))
        assert tracing.enabled()
        tracing.configure("unit", exporter=exporter)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
            response = await client.get("/healthz")
            missing = await client.get("/v1/nothing")
        assert response.status_code == 200
        assert missing.status_code == 404
        # Probes are left out; the 404's server span is there, its trace id in x-trace-id.
        server = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
        assert len(server) == 1 and server[0].context is not None
        assert missing.headers["x-trace-id"] == format(server[0].context.trace_id, "032x")
    finally:
        tracing.shutdown()
    assert not tracing.enabled()
