"""The stores: each one's POS pulls its new orders, accepts them, packs them for a while and
reports them packaged with their labels over signed webhooks."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx

from services.clients import Pos, problem_code
from services.demo.base import DemoBase
from shared.clock import clock


class Stores(DemoBase):
    def pos_of(self, store: dict[str, Any], credentials: dict[str, Any]) -> Pos:
        return Pos(
            self.http,
            self.suite.urls["order"],
            store["id"],
            credentials["api_key"],
            credentials["webhook_secret"],
            gate=self.store_gate,
        )

    async def pos(self, store: dict[str, Any], credentials: dict[str, Any], poll_s: float) -> None:
        terminal = self.pos_of(store, credentials)
        rng = random.Random(f"{self.o.seed}:{store['id']}")
        handled: set[str] = set()
        working: set[asyncio.Task[None]] = set()
        while True:
            try:
                response = await terminal.list_orders("new")
                if response.status_code != 200:
                    self.note("pos list", response)
                for shipment in response.json() if response.status_code == 200 else []:
                    if shipment["shipment_id"] in handled:
                        continue
                    handled.add(shipment["shipment_id"])
                    prep = rng.uniform(*self.o.prep_minutes) * 60
                    task = asyncio.create_task(self.fill(terminal, shipment, prep))
                    working.add(task)
                    task.add_done_callback(working.discard)
            except httpx.HTTPError as error:
                self.note(f"pos {type(error).__name__}")
            await asyncio.sleep(poll_s)

    async def fill(self, terminal: Pos, shipment: dict[str, Any], prep_seconds: float) -> None:
        """A store's part of an order: accept it, pack it, report it packaged with its labels."""
        shipment_id = shipment["shipment_id"]
        accepted = {"type": "accepted", "shipment_id": shipment_id}
        if not await self.pos_event(terminal, accepted):
            return
        await clock().sleep(prep_seconds)
        packages = max(1, min(len(shipment["lines"]), 3))
        short = shipment_id.replace("-", "")[:12].upper()
        labels = [f"PKG{short}{n + 1:02d}" for n in range(packages)]
        await self.pos_event(
            terminal,
            {
                "type": "packaged",
                "shipment_id": shipment_id,
                "labels": labels,
                "package_count": packages,
            },
        )

    async def pos_event(self, terminal: Pos, event: dict[str, Any]) -> bool:
        try:
            response = await terminal.send(event)
        except httpx.HTTPError as error:
            self.note(f"pos event {type(error).__name__}")
            return False
        if response.status_code == 409 and problem_code(response) == "webhook_replayed":
            # A retry of this very message after its answer was lost: it was received.
            self.counts[f"pos_{event['type']}_replayed"] += 1
            return True
        if response.status_code != 200:
            self.note(f"pos {event['type']}", response)
            return False
        self.counts[f"pos_{event['type']}"] += 1
        return True
