"""Wiring every service shares: lifespan (migrate, topics, relay, consumers), health, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client.registry import Collector
from pydantic import BaseModel
from starlette.middleware import Middleware

from shared import outbox, tracing
from shared.consumer import ConsumerRunner, Handler
from shared.db import Db
from shared.http_limits import BodyLimit, RateLimits
from shared.kafka import ensure_topics, kafka_reachable
from shared.logging import configure_logging
from shared.metrics import CONTENT_TYPE, RequestObserver, ServiceMetrics
from shared.migrations import upgrade
from shared.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

Hook = Callable[[FastAPI], Awaitable[None]]

# Whether startup ends by freezing what it built out of the garbage collector's reach. The
# `python -m <service>` entrypoint turns it on: that process is the service. A test process
# starts and drops many apps, which must stay collectable.
_freeze_after_start = False


def freeze_after_start() -> None:
    global _freeze_after_start
    _freeze_after_start = True


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer group of a service: which topics, which handler per event type."""

    purpose: str
    topics: Sequence[str]
    handlers: Mapping[str, Handler]
    max_poll_interval_ms: int = 300_000


@dataclass
class ServiceParts:
    name: str
    title: str
    description: str
    settings: ServiceSettings
    routers: Sequence[APIRouter]
    migrations: Path
    consumers: Sequence[ConsumerSpec] = ()
    on_startup: Sequence[Hook] = ()
    on_shutdown: Sequence[Hook] = ()
    openapi_tags: list[dict[str, Any]] = field(default_factory=list)
    # (path regex, bytes) for routes whose bodies may exceed settings.max_body_bytes.
    body_limits: Sequence[tuple[str, int]] = ()
    # Per-caller rates by name ("60/minute"), checked by the routes' own dependencies.
    rate_limits: Mapping[str, str] = field(default_factory=dict)
    # Browser origins (the storefront) allowed to call this service; none by default.
    cors_origins: Sequence[str] = ()
    # The service's business metrics (counted where their events happen), served on /metrics.
    metrics: Sequence[Collector] = ()
    # Inside the request observer, so what they answer is counted, timed and traced.
    middleware: Sequence[Middleware] = ()
    # Requests the service sends to others, for the OpenAPI document's `webhooks` section.
    webhooks: APIRouter | None = None


class Health(BaseModel):
    status: str
    reason: str | None = None


def create_service_app(parts: ServiceParts) -> FastAPI:
    settings = parts.settings
    configure_logging(parts.name, settings.log_level)
    if settings.otel_exporter_otlp_endpoint:
        tracing.configure(parts.name)
    outbox.set_producer_name(parts.name)

    def dead_letters() -> list[tuple[str, int]]:
        runners: list[ConsumerRunner] = getattr(app.state, "consumers", [])
        return [(runner.name, runner.stats.dead_lettered) for runner in runners]

    metrics = ServiceMetrics(parts.name, parts.metrics, dead_letters)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Db(
            settings.database_url,
            settings.db_pool_size,
            pre_ping=settings.db_pre_ping,
            recycle_seconds=settings.db_recycle_seconds,
            pool_timeout_seconds=settings.db_pool_timeout_seconds,
            lock_timeout_seconds=settings.db_lock_timeout_seconds,
        )
        app.state.db = db
        started = time.monotonic()
        await asyncio.to_thread(upgrade, parts.migrations, settings.database_url)
        kafka = settings.kafka()
        await ensure_topics(kafka, settings.topic_suffix)
        relay = outbox.OutboxRelay(
            db,
            kafka,
            name=parts.name,
            topic_suffix=settings.topic_suffix,
            poll_seconds=settings.relay_poll_seconds,
            send_timeout_seconds=settings.relay_send_timeout_seconds,
            retention_seconds=settings.outbox_retention_seconds,
        )
        runners = [
            ConsumerRunner(
                db,
                kafka,
                name=f"{parts.name}.{spec.purpose}",
                group_id=settings.group(spec.purpose),
                topic_names=list(spec.topics),
                handlers=spec.handlers,
                topic_suffix=settings.topic_suffix,
                max_attempts=settings.consumer_max_attempts,
                max_backoff_seconds=settings.consumer_max_backoff_seconds,
                max_poll_interval_ms=spec.max_poll_interval_ms,
                concurrency=settings.consumer_concurrency,
                effect_log=settings.consumer_effect_log,
            )
            for spec in parts.consumers
        ]
        app.state.relay = relay
        app.state.consumers = runners
        await relay.start()
        for runner in runners:
            await runner.start()
        for hook in parts.on_startup:
            await hook(app)
        if _freeze_after_start:
            # What startup built (the app, its models, the catalog's read model) lives as long
            # as the process: frozen, it is out of the collector's reach, so a full collection
            # walks only what came after, not hundreds of thousands of objects mid-request.
            gc.collect()
            gc.freeze()
        log.info(
            "service_started",
            extra={"port": settings.port, "seconds": round(time.monotonic() - started, 2)},
        )
        try:
            yield
        finally:
            for hook in reversed(parts.on_shutdown):
                await hook(app)
            for runner in runners:
                await runner.stop()
            await relay.stop()
            await db.dispose()
            if _freeze_after_start:
                gc.unfreeze()
            log.info("service_stopped")

    app = FastAPI(
        title=parts.title,
        description=parts.description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_tags=parts.openapi_tags or None,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.rate_limits = RateLimits(parts.rate_limits)
    # What the service consumes, for the event docs (services/asyncapi.py) as much as the lifespan.
    app.state.consumer_specs = list(parts.consumers)
    install_problem_handlers(app)
    # Innermost first: the body limit sits inside the observer, so 413s are counted and traced.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, overrides=parts.body_limits)
    for middleware in parts.middleware:
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    app.add_middleware(RequestObserver, metrics=metrics)
    if parts.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(parts.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "traceparent"],
            expose_headers=["Location", "Retry-After", "x-trace-id"],
            max_age=600,
        )
    # Outermost (it wraps the whole middleware stack): the observer logs with its trace id.
    tracing.instrument_app(app)
    app.include_router(health_router(settings))
    for router in parts.routers:
        app.include_router(router)
    if parts.webhooks is not None:
        app.webhooks.include_router(parts.webhooks)
    document_problems(app)
    return app


_PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}
_FASTAPI_422 = {"$ref": "#/components/schemas/HTTPValidationError"}


def document_problems(app: FastAPI) -> None:
    """Errors in the OpenAPI document as they are sent: `application/problem+json` with the
    Problem schema (FastAPI would say `application/json`, and its own schema for 422), and 400
    and 413 for every operation that takes a body."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path_item in schema.get("paths", {}).values():
                for operation in path_item.values():
                    if isinstance(operation, dict):
                        _document_operation_problems(operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_operation_problems(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "requestBody" in operation:
        for status, description in (
            ("400", "The body cannot be parsed (not UTF-8, or not the declared media type)"),
            ("413", "The body is larger than this route takes"),
        ):
            responses.setdefault(status, {"description": description})
            responses[status].setdefault("content", {PROBLEM_MEDIA_TYPE: {}})
    for status, response in responses.items():
        content: dict[str, Any] = response.get("content", {})
        is_default_422 = (
            status == "422" and content.get("application/json", {}).get("schema") == _FASTAPI_422
        )
        if PROBLEM_MEDIA_TYPE in content or is_default_422:
            documented = dict(content.get(PROBLEM_MEDIA_TYPE, {}))
            documented["schema"] = _PROBLEM_SCHEMA
            response["content"] = {PROBLEM_MEDIA_TYPE: documented}
            if is_default_422:
                response["description"] = "The request is invalid; `errors` lists the fields"


METRICS_EXAMPLE = """\
# HELP http_requests_total HTTP requests
# TYPE http_requests_total counter
http_requests_total{service="order",method="GET",route="/v1/orders/{order_id}",status="200"} 42.0
# HELP kafka_consumer_lag Messages behind the end of each partition
# TYPE kafka_consumer_lag gauge
kafka_consumer_lag{service="order",consumer="order.events",partition="routes:0"} 0.0
# HELP outbox_backlog Outbox rows not yet published
# TYPE outbox_backlog gauge
outbox_backlog{service="order"} 0.0
# HELP outbox_dead Outbox rows Kafka refused for good, parked with their error
# TYPE outbox_dead gauge
outbox_dead{service="order"} 0.0
# HELP kafka_consumer_partition_retrying 1 while a partition waits to retry a transient failure
# TYPE kafka_consumer_partition_retrying gauge
kafka_consumer_partition_retrying{service="order",consumer="order.events",partition="routes:0"} 0.0
# HELP kafka_up 1 when the Kafka broker answered the last check, 0 when it did not
# TYPE kafka_up gauge
kafka_up{service="order"} 1.0
"""


def _json_example(example: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"example": example}}}


def health_router(settings: ServiceSettings) -> APIRouter:
    router = APIRouter(tags=["operations"])
    kafka_check: dict[str, Any] = {"at": 0.0, "reason": None}

    async def kafka_reason() -> str | None:
        # The broker check costs a connection: reuse its answer for two seconds.
        if time.monotonic() - kafka_check["at"] > 2.0:
            kafka_check["reason"] = await kafka_reachable(settings.kafka())
            kafka_check["at"] = time.monotonic()
        reason: str | None = kafka_check["reason"]
        return reason

    @router.get(
        "/healthz",
        summary="The process is up",
        responses={200: _json_example({"status": "ok", "reason": None})},
    )
    async def healthz() -> Health:
        return Health(status="ok")

    @router.get(
        "/readyz",
        summary="Started, and its database is reachable",
        description="Kafka is left out on purpose: every pod would turn unready at once on a "
        "broker blip, though the outbox and the consumers ride it out. The broker's health is "
        "`kafka_up` on /metrics, with an alert.",
        responses={
            200: _json_example({"status": "ready", "reason": None}),
            503: {
                "model": Health,
                "description": "Not ready, with the reason",
                **_json_example(
                    {"status": "unavailable", "reason": "database unreachable: OSError"}
                ),
            },
        },
    )
    async def readyz(request: Request) -> Response:
        db: Db | None = getattr(request.app.state, "db", None)
        reason = "starting" if db is None else await db.reachable()
        if reason is not None:
            return JSONResponse(Health(status="unavailable", reason=reason).model_dump(), 503)
        return JSONResponse(Health(status="ready").model_dump())

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"example": METRICS_EXAMPLE}}}},
    )
    async def metrics_endpoint(request: Request) -> Response:
        service_metrics: ServiceMetrics = request.app.state.metrics
        service = service_metrics.service
        db: Db | None = getattr(request.app.state, "db", None)
        if db is not None:
            with contextlib.suppress(Exception):
                await export_outbox(service_metrics, db)
        service_metrics.kafka_up.labels(service).set(0 if await kafka_reason() else 1)
        export_consumer_stats(service_metrics, getattr(request.app.state, "consumers", []))
        return Response(service_metrics.render(), media_type=CONTENT_TYPE)

    return router


async def export_outbox(metrics: ServiceMetrics, db: Db) -> None:
    count, oldest_seconds = await outbox.unsent(db)
    metrics.outbox_backlog.labels(metrics.service).set(count)
    metrics.outbox_oldest_age.labels(metrics.service).set(oldest_seconds)
    metrics.outbox_dead.labels(metrics.service).set(await outbox.dead_count(db))


def export_consumer_stats(metrics: ServiceMetrics, runners: Sequence[ConsumerRunner]) -> None:
    service = metrics.service
    for runner in runners:
        stats = runner.stats
        for partition, lag in stats.lag.items():
            metrics.consumer_lag.labels(service, runner.name, partition).set(lag)
        for outcome, count in (
            ("handled", stats.handled),
            ("duplicate", stats.duplicates),
            ("dead_lettered", stats.dead_lettered),
            ("transient_error", stats.transient_errors),
        ):
            metrics.consumer_events.labels(service, runner.name, outcome).set(count)
        # Every partition the runner has seen, so a recovered one drops back to 0.
        for partition in set(stats.lag) | set(stats.retrying):
            metrics.partition_retrying.labels(service, runner.name, partition).set(
                1 if partition in stats.retrying else 0
            )
