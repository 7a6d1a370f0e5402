"""Long polls wait on the hub in memory: cheap to hold by thousands, cheap to wake by many.

Only the in-memory side of the hub: nothing here starts its database listener.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

from driver_service.api.offers import OfferView, render_offer
from driver_service.offer_hub import OfferCard, OfferHub, offer_etag
from shared.db import Db

NOW = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


def a_hub(rendered: list[uuid.UUID] | None = None) -> OfferHub:
    def render(card: OfferCard) -> bytes:
        if rendered is not None:
            rendered.append(card.offer_id)
        return render_offer(card)

    # The in-memory side never touches the database; start() would.
    return OfferHub(cast(Db, None), render=render)


def a_card(drivers: list[uuid.UUID], pay_cents: int = 1450) -> OfferCard:
    return OfferCard(
        offer_id=uuid.uuid4(),
        route_id=uuid.uuid4(),
        mall_name="Fashion Show Mall",
        pickup_area="Las Vegas, NV 89109",
        pay_cents=pay_cents,
        currency="USD",
        hourly_floor_cents=2100,
        block_minutes=60,
        expected_miles=6.4,
        stop_count=2,
        store_names=("Harbor Outfitters",),
        dropoff_areas=("Las Vegas 89104",),
        expires_at=NOW + timedelta(minutes=5),
        round=1,
        driver_ids=frozenset(drivers),
    )


async def waiting(polls: list[asyncio.Task[None]]) -> None:
    """Until every poll is parked on the hub (a few loop turns)."""
    for _ in range(10):
        await asyncio.sleep(0)
    assert not any(poll.done() for poll in polls)


def test_an_idle_poll_waits_without_a_task_of_its_own() -> None:
    async def count_tasks_per_poll() -> float:
        hub = a_hub()
        polls = [
            asyncio.create_task(hub.wait_for_change(uuid.uuid4(), timeout=30)) for _ in range(200)
        ]
        await waiting(polls)
        # Every task but this one: the polls, and whatever helpers they started.
        held = len(asyncio.all_tasks()) - 1
        await hub.stop()
        await asyncio.gather(*polls)
        return held / len(polls)

    # A loop of its own, so no other test's background task is counted.
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(count_tasks_per_poll()) == 1
    finally:
        loop.close()


async def test_one_offer_wakes_every_poll_of_its_drivers_and_no_other() -> None:
    hub = a_hub()
    offered = [uuid.uuid4() for _ in range(50)]
    bystander = uuid.uuid4()
    polls = [asyncio.create_task(hub.wait_for_change(d, timeout=30)) for d in offered * 2]
    idle = asyncio.create_task(hub.wait_for_change(bystander, timeout=30))
    await waiting([*polls, idle])

    hub._put(uuid.uuid4(), a_card(offered))

    await asyncio.wait_for(asyncio.gather(*polls), 5)
    assert not idle.done()
    await hub.stop()
    await idle


async def test_a_poll_that_times_out_leaves_nothing_waiting() -> None:
    hub = a_hub()
    driver = uuid.uuid4()

    await asyncio.wait_for(hub.wait_for_change(driver, timeout=0.05), 5)

    assert hub._waiters == {}


async def test_an_offer_is_rendered_once_for_all_the_drivers_it_wakes() -> None:
    rendered: list[uuid.UUID] = []
    hub = a_hub(rendered)
    drivers = [uuid.uuid4() for _ in range(100)]
    card = a_card(drivers)
    hub._put(card.offer_id, card)

    views = {hub.view(c) for d in drivers for c in hub.offers_for(d, NOW)}

    assert rendered == [card.offer_id]
    assert len(views) == 1
    assert OfferView.model_validate_json(views.pop()) == OfferView.of(card)


async def test_a_changed_offer_is_rendered_again() -> None:
    rendered: list[uuid.UUID] = []
    hub = a_hub(rendered)
    driver = uuid.uuid4()
    card = a_card([driver], pay_cents=1450)
    hub._put(card.offer_id, card)
    hub.view(card)
    raised = replace(card, pay_cents=1700)

    hub._put(card.offer_id, raised)

    assert OfferView.model_validate_json(hub.view(raised)).pay_cents == 1700
    assert rendered == [card.offer_id, card.offer_id]


async def test_the_etag_of_a_list_is_the_same_from_the_hub_and_changes_with_pay() -> None:
    hub = a_hub()
    driver = uuid.uuid4()
    card = a_card([driver])
    hub._put(card.offer_id, card)
    tag = hub.etag(hub.offers_for(driver, NOW))

    raised = replace(card, pay_cents=1700)
    hub._put(card.offer_id, raised)

    assert tag == offer_etag([card])
    assert hub.etag(hub.offers_for(driver, NOW)) == offer_etag([raised]) != tag
