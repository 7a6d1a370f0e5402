"""OpenTelemetry tracing: off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set, then exported by OTLP.

When on: FastAPI requests, httpx calls and asyncpg queries are spans, and an event carries its
producer's trace context twice. The envelope keeps it (`trace_context`, W3C `traceparent`), so
it is stored with the outbox row in the producing transaction; the relay publishes the row in a
PRODUCER span that is that context's child and puts the span's own context in the Kafka
headers; the consumer's CONSUMER span is the child of the headers' context. So an event's
handling is in the trace of the request that caused it, in whichever process handles it.

When off nothing is instrumented, and each hook below is one `is None` test: the hot paths
(every request, every event) pay nothing else.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Link, Span, SpanKind, Tracer

log = logging.getLogger(__name__)

# Kafka header values are bytes; the W3C propagator wants str.
KafkaHeaders = Sequence[tuple[str, bytes]]

_provider: TracerProvider | None = None
_tracer: Tracer | None = None
# Probes and scrapes every few seconds would bury the traces worth reading.
_EXCLUDED_URLS = "healthz,readyz,metrics"


def enabled() -> bool:
    return _tracer is not None


def configure(service: str, *, exporter: SpanExporter | None = None) -> None:
    """Turns tracing on in this process. The OTLP exporter reads the standard `OTEL_EXPORTER_
    OTLP_*` variables; a test passes its own exporter instead (spans then go out one by one).

    One provider per process: a second call (tests build several apps) only adds its exporter.
    """
    global _provider, _tracer
    if _provider is None:
        _provider = TracerProvider(
            resource=Resource.create({"service.name": f"mall-to-home-{service}"})
        )
        HTTPXClientInstrumentor().instrument(tracer_provider=_provider)
        AsyncPGInstrumentor().instrument(tracer_provider=_provider)  # type: ignore[no-untyped-call]
        _tracer = _provider.get_tracer("mall_to_home")
        if exporter is None:
            # Imported only when on: the exporter pulls in protobuf and requests.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            log.info("tracing_on", extra={"exporter": "otlp"})
    if exporter is not None:
        _provider.add_span_processor(SimpleSpanProcessor(exporter))


def shutdown() -> None:
    """Flushes and turns tracing off again (a test that turned it on, at its end)."""
    global _provider, _tracer
    provider, _provider, _tracer = _provider, None, None
    if provider is None:
        return
    HTTPXClientInstrumentor().uninstrument()
    AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    provider.shutdown()


def instrument_app(app: FastAPI) -> None:
    if _provider is not None:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=_provider, excluded_urls=_EXCLUDED_URLS
        )


def current_trace_id() -> str | None:
    """The active span's trace id (32 hex digits), None when off or outside any span."""
    if _tracer is None:
        return None
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def current_context() -> dict[str, str] | None:
    """The active span's context as W3C headers, for an event's envelope; None when off."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


def start_publish(topic: str, event: bytes, headers: list[tuple[str, bytes]]) -> Span | None:
    """A PRODUCER span for one outbox row, the child of the context its envelope stored; adds
    the span's context to `headers`. The caller ends it once the broker acknowledged."""
    if _tracer is None:
        return None
    parent: Context | None = None
    with contextlib.suppress(orjson.JSONDecodeError, AttributeError, TypeError):
        stored = orjson.loads(event).get("trace_context")
        if isinstance(stored, dict):
            parent = propagate.extract(stored)
    span = _tracer.start_span(
        f"publish {topic}",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
        },
    )
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    headers.extend((name, value.encode()) for name, value in carrier.items())
    return span


@contextlib.contextmanager
def consuming(
    topic: str,
    headers: KafkaHeaders,
    attributes: Mapping[str, Any],
    stored: Mapping[str, str] | None = None,
) -> Iterator[Span | None]:
    """The CONSUMER span around handling one record, the child of the context in its headers
    (else of the one stored in its envelope: a record someone re-sent without headers)."""
    if _tracer is None:
        yield None
        return
    carrier = {name: bytes(value).decode("latin-1") for name, value in headers}
    if "traceparent" not in carrier and stored:
        carrier = dict(stored)
    with _tracer.start_as_current_span(
        f"process {topic}",
        context=propagate.extract(carrier),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            **attributes,
        },
    ) as span:
        yield span


@contextlib.contextmanager
def continuing(name: str, stored: Sequence[Mapping[str, str] | None]) -> Iterator[None]:
    """Events written inside go on in the trace of the first stored context (the checkout that
    placed an order), linked to the other stored ones and to the current span (the request of
    the store or the driver that took the step). So a checkout is one trace to the door."""
    contexts = [context for context in stored if context]
    if _tracer is None or not contexts:
        yield
        return
    linked = [trace.get_current_span().get_span_context()] + [
        trace.get_current_span(propagate.extract(context)).get_span_context()
        for context in contexts[1:]
    ]
    links = [Link(span_context) for span_context in linked if span_context.is_valid]
    with _tracer.start_as_current_span(name, context=propagate.extract(contexts[0]), links=links):
        yield
