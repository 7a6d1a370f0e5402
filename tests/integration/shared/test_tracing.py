"""Tracing across the outbox and Kafka: a request's trace continues in the consumer of its event.

Real broker and database; spans are collected by an in-memory exporter in this process, and the
record's own Kafka headers are read back to show the context travels in them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI, Request
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import outbox, tracing
from shared.consumer import ConsumerRunner
from shared.db import Db, Tx
from shared.events import topics
from shared.events.envelope import Envelope
from shared.logging import trace_id_var
from shared.metrics import RequestObserver, ServiceMetrics
from shared.outbox import OutboxRelay
from tests.integration.shared.conftest import Ping, effects
from tests.support import BOOTSTRAP, eventually


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure("test", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.shutdown()


def checkout_app(db: Db) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/pings/{n}")
    async def ping(n: int, request: Request) -> dict[str, str]:
        async with db.begin() as tx:
            await outbox.add(tx, Ping(key="k", n=n), key="k")
        return {"trace_id": trace_id_var.get()}

    # As every service is wired (shared.service): the observer inside the server span.
    app.add_middleware(RequestObserver, metrics=ServiceMetrics("test"))
    tracing.instrument_app(app)
    return app


def trace_hex(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


async def test_tracing_is_off_by_default_and_events_carry_no_context(
    db: Db, topic_suffix: str
) -> None:
    assert not tracing.enabled()
    async with db.begin() as tx:
        await outbox.add(tx, Ping(key="k", n=1), key="k")
    relay = OutboxRelay(db, BOOTSTRAP, name="t", topic_suffix=topic_suffix)
    assert await relay.publish_pending() == 1
    await relay.stop()
    record = await read_one(topic_suffix)
    assert [name for name, _ in record.headers] == ["event_type", "event_id"]
    assert b'"trace_context":null' in record.value


async def read_one(suffix: str) -> Any:
    reader = AIOKafkaConsumer(
        topics.resolve(topics.ORDERS, suffix),
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    try:
        batches = await asyncio.wait_for(reader.getmany(timeout_ms=20_000, max_records=1), 30)
        records = [record for batch in batches.values() for record in batch]
        assert records, "the relay's record never arrived"
        return records[0]
    finally:
        await reader.stop()


async def test_a_consumed_events_span_has_the_producing_requests_trace_id(
    db: Db, topic_suffix: str, spans: InMemorySpanExporter
) -> None:
    # The request: its handler writes the event to the outbox in its transaction.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=checkout_app(db)), base_url="http://test"
    ) as client:
        response = await client.post("/v1/pings/7")
    assert response.status_code == 200
    server = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert len(server) == 1
    request_trace = trace_hex(server[0])
    # Log lines and the envelope's trace_id are the OpenTelemetry trace's.
    assert response.json()["trace_id"] == request_trace
    assert response.headers["x-trace-id"] == request_trace

    # The relay, later and in no request: its PRODUCER span joins the request's trace.
    relay = OutboxRelay(db, BOOTSTRAP, name="t", topic_suffix=topic_suffix)
    assert await relay.publish_pending() == 1
    await relay.stop()
    (producer,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.PRODUCER]
    assert trace_hex(producer) == request_trace
    assert producer.name == f"publish {topics.resolve(topics.ORDERS, topic_suffix)}"

    # The Kafka record carries the producer span's context in its headers.
    record = await read_one(topic_suffix)
    headers = {name: bytes(value).decode() for name, value in record.headers}
    assert producer.context is not None
    assert headers["traceparent"].split("-")[1:3] == [
        request_trace,
        format(producer.context.span_id, "016x"),
    ]

    # The consumer: its span, and the handler's queries, are in the request's trace.
    seen: list[str] = []

    async def handle(tx: Tx, envelope: Envelope[Any]) -> None:
        seen.append(trace_id_var.get())
        await tx.execute(effects.insert().values(key=envelope.payload.key, n=envelope.payload.n))

    runner = ConsumerRunner(
        db,
        BOOTSTRAP,
        name="test",
        group_id=f"traced{topic_suffix}",
        topic_names=[topics.ORDERS],
        handlers={Ping.TYPE: handle},
        topic_suffix=topic_suffix,
    )
    await runner.start()
    try:
        await eventually(lambda: runner.stats.handled == 1, within=30)
    finally:
        await runner.stop()
    assert seen == [request_trace]
    (consumer,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert trace_hex(consumer) == request_trace
    assert consumer.parent is not None and consumer.parent.span_id == producer.context.span_id
    assert consumer.attributes is not None
    assert consumer.attributes["messaging.consumer.group.name"] == f"traced{topic_suffix}"
    assert consumer.context is not None
    queries = [
        s
        for s in spans.get_finished_spans()
        if s.parent is not None
        and s.parent.span_id == consumer.context.span_id
        and (s.attributes or {}).get("db.system") == "postgresql"
    ]
    assert queries, "the handler's queries are no spans of the consumer's"
