from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from dispatch_service.domain.offers import DriverState, is_serving_near, rank_drivers
from shared.geo import Point

NOON = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
MALL = Point(36.1272, -115.1706)
FRESH = timedelta(minutes=5)


def a_driver(
    *,
    km_north: float = 1.0,
    is_online: bool = True,
    capacity: int = 10,
    seen_ago: timedelta = timedelta(seconds=30),
    route: UUID | None = None,
) -> DriverState:
    return DriverState(
        driver_id=uuid4(),
        is_online=is_online,
        capacity_packages=capacity,
        position=Point(MALL.lat + km_north / 111.2, MALL.lng),
        position_at=NOON - seen_ago,
        current_route_id=route,
    )


def ranked(
    drivers: list[DriverState],
    *,
    radius_m: float = 5_000,
    min_capacity: int = 4,
    pay: int = 3000,
    shown: dict[UUID, int] | None = None,
    busy: set[UUID] | None = None,
    limit: int = 10,
) -> list[UUID]:
    return [
        c.driver_id
        for c in rank_drivers(
            drivers,
            MALL,
            now=NOON,
            radius_m=radius_m,
            min_capacity=min_capacity,
            fresh_for=FRESH,
            pay_cents=pay,
            best_pay_shown=shown or {},
            busy=busy or set(),
            limit=limit,
        )
    ]


def test_only_online_fresh_near_free_drivers_whose_vehicle_fits_are_eligible() -> None:
    good = a_driver()
    excluded = [
        a_driver(is_online=False),
        a_driver(km_north=9.0),
        a_driver(capacity=3),
        a_driver(seen_ago=timedelta(minutes=10)),
        a_driver(route=uuid4()),
    ]

    assert ranked([*excluded, good]) == [good.driver_id]


def test_nearest_first_and_only_a_few_at_a_time() -> None:
    far, near, middle = a_driver(km_north=3), a_driver(km_north=0.5), a_driver(km_north=1.5)

    assert ranked([far, near, middle], limit=2) == [near.driver_id, middle.driver_id]


def test_a_driver_already_shown_the_route_sees_it_again_only_at_a_higher_pay() -> None:
    seen = a_driver()

    assert ranked([seen], pay=3000, shown={seen.driver_id: 3000}) == []
    assert ranked([seen], pay=3450, shown={seen.driver_id: 3000}) == [seen.driver_id]


def test_a_driver_holding_another_open_offer_is_not_asked() -> None:
    busy = a_driver()

    assert ranked([busy], busy={busy.driver_id}) == []


def test_a_wider_radius_reaches_further_drivers() -> None:
    far = a_driver(km_north=7.0)

    assert ranked([far], radius_m=5_000) == []
    assert ranked([far], radius_m=9_000) == [far.driver_id]


def test_a_driver_out_on_a_route_still_serves_the_mall_but_an_offline_or_far_one_does_not() -> None:
    def serves(driver: DriverState) -> bool:
        return is_serving_near(driver, MALL, now=NOON, radius_m=5_000, fresh_for=FRESH)

    assert serves(a_driver(route=uuid4()))
    assert serves(a_driver())
    assert not serves(a_driver(is_online=False))
    assert not serves(a_driver(km_north=9))
    assert not serves(a_driver(seen_ago=timedelta(minutes=10)))
