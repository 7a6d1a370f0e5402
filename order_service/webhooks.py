"""Outgoing webhooks to stores' POS: read from the deliveries table, signed, retried, recorded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

import httpx
from standardwebhooks import Webhook

from order_service import metrics
from order_service.settings import OrderSettings
from order_service.store import pos
from shared import clock
from shared.db import Db

log = logging.getLogger(__name__)


class WebhookSender:
    def __init__(
        self,
        db: Db,
        settings: OrderSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        batch: int = 20,
    ) -> None:
        self.db = db
        self.settings = settings
        self.batch = batch
        self._client = httpx.AsyncClient(
            timeout=settings.webhook_timeout_seconds, transport=transport
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="order-webhook-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.deliver_due()
                if sent < self.batch:
                    await clock.clock().sleep(self.settings.webhook_poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook_sender_error")
                await clock.clock().sleep(self.settings.webhook_poll_seconds)

    async def deliver_due(self) -> int:
        """One pass: every due delivery gets one attempt; returns how many were attempted."""
        now = clock.now()
        # The lease is in suite time, the HTTP timeout in real seconds.
        lease = timedelta(seconds=(self.settings.webhook_timeout_seconds + 5) * clock.clock().speed)
        async with self.db.begin() as tx:
            due = await pos.claim_due(tx, now, self.batch, lease_until=now + lease)
            targets = [
                (
                    delivery,
                    await pos.webhook_url_of(tx, delivery.store_id, now),
                    await pos.webhook_secrets(tx, delivery.store_id, now),
                )
                for delivery in due
            ]
        for delivery, url, secrets in targets:
            status_code, error = await self._post(
                url, secrets[0] if secrets else None, str(delivery.id), delivery.body
            )
            await self._record(delivery, status_code, error)
        return len(due)

    async def _record(
        self, delivery: pos.DueDelivery, status_code: int | None, error: str | None
    ) -> None:
        attempts = delivery.attempts + 1
        if status_code is not None and 200 <= status_code < 300:
            new_status = "delivered"
        elif attempts >= self.settings.webhook_max_attempts:
            new_status = "failed"
        else:
            new_status = "pending"
        if new_status != "delivered":
            outcome = "gave_up" if new_status == "failed" else "will_retry"
            metrics.WEBHOOK_FAILURES.labels(outcome).inc()
        backoff = min(
            self.settings.webhook_backoff_seconds * 2 ** (attempts - 1),
            self.settings.webhook_backoff_max_seconds,
        )
        now = clock.now()
        async with self.db.begin() as tx:
            await pos.record_attempt(
                tx,
                delivery.id,
                at=now,
                status_code=status_code,
                error=error,
                new_status=new_status,
                attempts=attempts,
                next_attempt_at=now + timedelta(seconds=backoff),
            )
        log.info(
            "webhook_attempted",
            extra={
                "delivery_id": str(delivery.id),
                "store_id": delivery.store_id,
                "event_type": delivery.event_type,
                "status_code": status_code,
                "outcome": new_status,
                "attempt": attempts,
            },
        )

    async def _post(
        self, url: str | None, secret: str | None, message_id: str, body: bytes
    ) -> tuple[int | None, str | None]:
        if url is None or secret is None:
            return None, "store has no webhook endpoint or secret"
        # The receiver checks the timestamp against its wall clock, not our (maybe simulated) one.
        signed_at = datetime.now(UTC)
        signature = Webhook(secret).sign(message_id, signed_at, body.decode())
        try:
            response = await self._client.post(
                url,
                content=body,
                headers={
                    "content-type": "application/json",
                    "webhook-id": message_id,
                    "webhook-timestamp": str(int(signed_at.timestamp())),
                    "webhook-signature": signature,
                },
            )
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}"[:500]
        return response.status_code, None if response.is_success else response.text[:500]
