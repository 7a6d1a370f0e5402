from __future__ import annotations

from datetime import datetime

from catalog_service.domain.coverage import cells_of_point
from shared import outbox
from shared.events.dispatch import ZoneCapacityChanged
from shared.geo import Point
from tests.integration.catalog.conftest import LAS_VEGAS_STRIP, Catalog
from tests.support import eventually

LAS_VEGAS = "fashion-show-las-vegas"


async def publish(catalog: Catalog, event: ZoneCapacityChanged) -> None:
    # Through an outbox and the app's relay: the event reaches the consumer over real Kafka.
    async with catalog.db.begin() as tx:
        await outbox.add(tx, event, key=event.mall_id)


async def same_day(catalog: Catalog) -> dict[str, object]:
    resp = await catalog.api.get("/v1/catalog/same-day", params=LAS_VEGAS_STRIP)
    assert resp.status_code == 200
    body: dict[str, object] = resp.json()
    return body


async def test_dispatch_can_pause_today_for_a_mall_which_then_promises_tomorrow_and_resume_it(
    catalog: Catalog,
) -> None:
    await publish(
        catalog,
        ZoneCapacityChanged(
            mall_id=LAS_VEGAS, same_day_enabled=False, promise_delay_minutes=0, reason="no drivers"
        ),
    )

    async def tomorrow() -> bool:
        items: list[dict[str, str]] = (await same_day(catalog))["items"]  # type: ignore[assignment]
        return bool(items) and all(i["promise"].startswith("Arrives tomorrow") for i in items)

    await eventually(tomorrow, within=15)

    await publish(
        catalog,
        ZoneCapacityChanged(
            mall_id=LAS_VEGAS, same_day_enabled=True, promise_delay_minutes=0, reason="ok"
        ),
    )

    async def resumed() -> bool:
        items: list[dict[str, str]] = (await same_day(catalog))["items"]  # type: ignore[assignment]
        return bool(items) and items[0]["promise"].startswith("Arrives today")

    await eventually(resumed, within=15)


async def test_a_delay_for_the_point_s_cell_pushes_the_promise_later(catalog: Catalog) -> None:
    before = await same_day(catalog)
    promised = datetime.fromisoformat(before["items"][0]["deliver_by"])  # type: ignore[index]
    cell = cells_of_point(Point(**LAS_VEGAS_STRIP), [8])[8]

    await publish(
        catalog,
        ZoneCapacityChanged(
            mall_id=LAS_VEGAS,
            h3_cells=[cell],
            same_day_enabled=True,
            promise_delay_minutes=120,
            reason="busy",
        ),
    )

    async def delayed() -> bool:
        items = (await same_day(catalog))["items"]
        later = datetime.fromisoformat(items[0]["deliver_by"])  # type: ignore[index]
        return (later - promised).total_seconds() >= 120 * 60 - 60

    await eventually(delayed, within=15)
