"""Prometheus metrics of one service: requests, latency, consumer lag, outbox backlog and age,
dead letters, the broker's health; plus the service's own business metrics, given at creation.

Every name here is one that deploy/observability's dashboard and alert rules may use; a test
checks each name they use against the services' /metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing
from shared.logging import new_trace_id, trace_id_from_traceparent, trace_id_var

# (consumer name, messages it sent to a dead-letter topic since the process started)
DeadLetterCounts = Callable[[], Iterable[tuple[str, int]]]


class DeadLetters(Collector):
    """The consumers' own counts, read at scrape time: nothing to keep in step."""

    def __init__(self, service: str, counts: DeadLetterCounts) -> None:
        self.service = service
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "kafka_dead_letters",
            "Messages a consumer sent to <topic>.dlq after its handler kept failing",
            labels=["service", "consumer"],
        )
        for consumer, count in self.counts():
            family.add_metric([self.service, consumer], count)
        yield family


class ServiceMetrics:
    def __init__(
        self,
        service: str,
        business: Sequence[Collector] = (),
        dead_letters: DeadLetterCounts = lambda: (),
    ) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["service", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30),
        )
        self.consumer_lag = Gauge(
            "kafka_consumer_lag",
            "Messages behind the end of each partition",
            ["service", "consumer", "partition"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "outbox_backlog",
            "Outbox rows not yet published",
            ["service"],
            registry=self.registry,
        )
        self.outbox_oldest_age = Gauge(
            "outbox_oldest_unsent_age_seconds",
            "Age of the oldest outbox row not yet published (0 when none): grows when stuck",
            ["service"],
            registry=self.registry,
        )
        # Readiness leaves Kafka out (a broker blip must not unready every pod at once): this
        # gauge and its alert say when the broker is away.
        self.kafka_up = Gauge(
            "kafka_up",
            "1 when the Kafka broker answered the last check, 0 when it did not",
            ["service"],
            registry=self.registry,
        )
        self.registry.register(DeadLetters(service, dead_letters))
        for collector in business:
            self.registry.register(collector)
        self.service = service

    def render(self) -> bytes:
        return generate_latest(self.registry)


@dataclass(frozen=True)
class RouteLabel:
    """What the request observer reads of a matched route: its path template. A fast path that
    answers ahead of routing puts one in the scope, so its requests are labelled all the same."""

    path: str


class RequestObserver:
    """Pure ASGI middleware (no BaseHTTPMiddleware: it costs a third of the throughput).

    Sets the trace id from `traceparent`, echoes it in `x-trace-id`, counts and times requests.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # `labels()` validates and locks on every call: a few microseconds a request. The
        # children of each (method, route, status) are looked up once and kept.
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def _observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        children = self._children.get(key)
        if children is None:
            service = self.metrics.service
            children = self._children[key] = (
                self.metrics.requests.labels(service, method, route, key[2]),
                self.metrics.latency.labels(service, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        traceparent = None
        for name, value in scope.get("headers", []):
            if name == b"traceparent":
                traceparent = value.decode("latin-1")
        # With tracing on, the server span (outside this middleware) has the trace id.
        trace_id = (
            tracing.current_trace_id() or trace_id_from_traceparent(traceparent) or new_trace_id()
        )
        token = trace_id_var.set(trace_id)
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-trace-id", trace_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            trace_id_var.reset(token)
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self._observe(scope["method"], template, status, time.perf_counter() - started)


CONTENT_TYPE = CONTENT_TYPE_LATEST
