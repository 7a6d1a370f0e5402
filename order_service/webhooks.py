"""Outgoing webhooks, to stores' POS and to the storefront: read from the deliveries table,
signed (Standard Webhooks), retried with backoff for a day, every attempt recorded.

Each recipient has a worker of its own, so a slow or dead endpoint only ever delays itself; per
recipient and order, deliveries go out in the order they were queued (the queue's `_is_due`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from standardwebhooks import Webhook
from tenacity import wait_exponential

from order_service import metrics
from order_service.settings import OrderSettings
from order_service.store import pos
from order_service.store import webhooks as queue
from order_service.store.webhooks import DeliveryStatus, Recipient, RecipientKind
from shared import clock
from shared.db import Db, Tx
from shared.loop import BackgroundLoop
from shared.retry import delay_before_attempt

log = logging.getLogger(__name__)


def sign(secrets: list[str], message_id: str, signed_at: datetime, body: bytes) -> str:
    """One signature per live secret, space-separated: during a rotation a receiver holding
    either secret verifies (the Standard Webhooks multi-signature header)."""
    return " ".join(
        Webhook(secret).sign(message_id, signed_at, body.decode()) for secret in secrets
    )


async def target_of(tx: Tx, recipient: Recipient, now: datetime) -> tuple[str, list[str]] | None:
    """Where a recipient's webhooks go and the secrets that sign them, if it has both."""
    if recipient.kind is RecipientKind.STORE:
        url = await pos.webhook_url_of(tx, recipient.id, now)
        secrets = await pos.webhook_secrets(tx, recipient.id, now)
        return (url, secrets) if url is not None and secrets else None
    try:
        endpoint_id = UUID(recipient.id)
    except ValueError:
        return None
    found = await queue.endpoint_target(tx, endpoint_id, now)
    return found if found is not None and found[1] else None


def next_wait_seconds(settings: OrderSettings, attempts: int, rng: random.Random) -> float:
    """Capped exponential backoff (tenacity's) with full jitter on its upper half: retries of
    many deliveries to one recovering endpoint spread out instead of arriving together. The
    schedule lives in the deliveries table (it survives a restart), not in a running loop."""
    ceiling = delay_before_attempt(
        wait_exponential(
            multiplier=settings.webhook_backoff_seconds, max=settings.webhook_backoff_max_seconds
        ),
        max(1, attempts),
    )
    return ceiling / 2 + rng.random() * ceiling / 2


class WebhookSender:
    def __init__(
        self,
        db: Db,
        settings: OrderSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        batch: int = 20,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.db = db
        self.settings = settings
        self.batch = batch
        self.now = now
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._loop = BackgroundLoop(
            "order-webhook-sender", self.start_due_workers, settings.webhook_poll_seconds
        )
        self._workers: dict[Recipient, asyncio.Task[None]] = {}
        self._rng = random.Random()

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.settings.webhook_timeout_seconds, transport=self._transport
            )
        return self._client

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        # No new workers first; then the running ones, whose attempts are recorded or leased.
        await self._loop.stop()
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def start_due_workers(self) -> int:
        """A worker for each recipient with a due delivery and none yet; returns how many
        started. At most `webhook_concurrency` recipients are posted to at once."""
        room = self.settings.webhook_concurrency - len(self._workers)
        if room <= 0:
            return 0
        async with self.db.begin() as tx:
            due = await queue.due_recipients(tx, self.now(), limit=room + len(self._workers))
        started = 0
        for recipient in due:
            if (
                recipient in self._workers
                or len(self._workers) >= self.settings.webhook_concurrency
            ):
                continue
            task = asyncio.create_task(self._work(recipient), name=f"webhooks-{recipient}")
            self._workers[recipient] = task
            started += 1
        return started

    async def _work(self, recipient: Recipient) -> None:
        try:
            while await self.deliver_due(recipient):
                pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook_worker_error", extra={"recipient": str(recipient)})
        finally:
            self._workers.pop(recipient, None)

    async def deliver_due(self, recipient: Recipient | None = None) -> int:
        """One pass over due deliveries (of one recipient, or all): one attempt each, in queue
        order; returns how many were attempted."""
        now = self.now()
        # The lease is in suite time, the HTTP timeout in real seconds.
        lease = timedelta(seconds=(self.settings.webhook_timeout_seconds + 5) * clock.clock().speed)
        async with self.db.begin() as tx:
            due = await queue.claim_due(
                tx, now, self.batch, lease_until=now + lease, recipient=recipient
            )
            targets = [(delivery, await target_of(tx, delivery.recipient, now)) for delivery in due]
        for delivery, target in targets:
            await self._attempt(delivery, target)
        return len(due)

    async def _attempt(
        self, delivery: queue.DueDelivery, target: tuple[str, list[str]] | None
    ) -> None:
        began = time.monotonic()
        status_code: int | None = None
        error: str | None = "the recipient has no webhook URL or secret"
        if target is not None:
            status_code, error = await self._post(
                target[0], target[1], str(delivery.id), delivery.body
            )
        duration_ms = round((time.monotonic() - began) * 1000)
        attempts = delivery.attempts + 1
        now = self.now()
        retry_until = delivery.retry_until or delivery.created_at + timedelta(
            seconds=self.settings.webhook_retry_seconds
        )
        if status_code is not None and 200 <= status_code < 300:
            new_status = DeliveryStatus.DELIVERED
        elif now >= retry_until:
            new_status = DeliveryStatus.FAILED
        else:
            new_status = DeliveryStatus.PENDING
        if new_status is not DeliveryStatus.DELIVERED:
            outcome = "gave_up" if new_status is DeliveryStatus.FAILED else "will_retry"
            metrics.WEBHOOK_FAILURES.labels(outcome).inc()
        wait = next_wait_seconds(self.settings, attempts, self._rng)
        async with self.db.begin() as tx:
            await queue.record_attempt(
                tx,
                delivery.id,
                at=now,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
                new_status=new_status,
                attempts=attempts,
                next_attempt_at=now + timedelta(seconds=wait),
            )
        log.info(
            "webhook_attempted",
            extra={
                "delivery_id": str(delivery.id),
                "recipient": str(delivery.recipient),
                "event_type": delivery.event_type,
                "status_code": status_code,
                "outcome": new_status.value,
                "attempt": attempts,
            },
        )

    async def _post(
        self, url: str, secrets: list[str], message_id: str, body: bytes
    ) -> tuple[int | None, str | None]:
        # The receiver checks the timestamp against its wall clock, not our (maybe simulated) one.
        signed_at = datetime.now(UTC)
        try:
            response = await self.client.post(
                url,
                content=body,
                headers={
                    "content-type": "application/json",
                    "webhook-id": message_id,
                    "webhook-timestamp": str(int(signed_at.timestamp())),
                    "webhook-signature": sign(secrets, message_id, signed_at, body),
                },
            )
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}"[:500]
        return response.status_code, None if response.is_success else response.text[:500]
