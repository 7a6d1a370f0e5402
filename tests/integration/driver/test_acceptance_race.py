from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx

from driver_service import usecases
from shared.events.driver import OfferAccepted
from tests.integration.driver.conftest import Driver, Service, an_offer, register
from tests.support import EventTap

DRIVERS = 50
ROUNDS = 100
# Rounds on different offers overlap a little to keep the suite quick; each round is still
# its 50 drivers accepting one offer at the same moment.
ROUNDS_AT_ONCE = 4


async def race(
    service: Service, drivers: list[tuple[Driver, httpx.AsyncClient]]
) -> tuple[uuid.UUID, uuid.UUID]:
    offer = an_offer([d.id for d, _ in drivers])
    async with service.app.state.db.begin() as tx:
        await usecases.record_offer(tx, offer)

    answers: list[httpx.Response] = await asyncio.gather(
        *(
            client.post(f"/v1/offers/{offer.offer_id}/accept", headers=d.headers)
            for d, client in drivers
        )
    )

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: 1, 409: DRIVERS - 1}, statuses
    assert all(a.json()["code"] == "already_taken" for a in answers if a.status_code == 409)
    [winner] = [d for (d, _), a in zip(drivers, answers, strict=True) if a.status_code == 200]
    return offer.offer_id, winner.id


async def test_fifty_drivers_on_two_instances_accepting_one_offer_make_exactly_one_winner(
    service: Service, second_instance: httpx.AsyncClient, tap: EventTap
) -> None:
    registered = await asyncio.gather(
        *(register(service.client, f"Racer {i}") for i in range(DRIVERS))
    )
    # Half the drivers reach each instance: only the database can pick one winner.
    drivers = [
        (driver, service.client if i % 2 else second_instance)
        for i, driver in enumerate(registered)
    ]
    winners: dict[uuid.UUID, uuid.UUID] = {}
    for _ in range(ROUNDS // ROUNDS_AT_ONCE):
        results = await asyncio.gather(*(race(service, drivers) for _ in range(ROUNDS_AT_ONCE)))
        winners.update(results)
    assert len(winners) == ROUNDS

    for _ in range(ROUNDS):
        accepted = await tap.next(OfferAccepted, within=30)
        assert winners.pop(accepted.payload.offer_id) == accepted.payload.driver_id
    assert winners == {}
