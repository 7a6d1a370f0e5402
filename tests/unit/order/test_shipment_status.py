from __future__ import annotations

import pytest

from order_service.domain.errors import IllegalTransition
from order_service.domain.order import (
    ShipmentStatus,
    is_customer_cancellable,
    order_status,
    transition,
)

S = ShipmentStatus


def test_the_happy_path_moves_step_by_step() -> None:
    status = S.PLACED
    for wanted in (S.ACCEPTED, S.PACKAGED, S.PICKED_UP, S.DELIVERED):
        status = transition(status, wanted)

    assert status is S.DELIVERED


def test_a_failed_delivery_goes_back_to_the_store() -> None:
    status = transition(transition(S.PICKED_UP, S.DELIVERY_FAILED), S.RETURNED_TO_STORE)

    assert status is S.RETURNED_TO_STORE


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (S.CANCELLED, S.PICKED_UP),
        (S.PLACED, S.PACKAGED),
        (S.PLACED, S.PICKED_UP),
        (S.PICKED_UP, S.CANCELLED),
        (S.DELIVERED, S.DELIVERY_FAILED),
        (S.ACCEPTED, S.ACCEPTED),
        (S.DELIVERED, S.RETURNING),
        (S.RETURNED_TO_STORE, S.DELIVERED),
    ],
)
def test_an_illegal_transition_is_refused(current: ShipmentStatus, wanted: ShipmentStatus) -> None:
    with pytest.raises(IllegalTransition) as raised:
        transition(current, wanted)

    assert (raised.value.current, raised.value.wanted) == (current.value, wanted.value)


def test_the_order_shows_its_least_advanced_live_shipment() -> None:
    assert order_status([S.PACKAGED, S.ACCEPTED, S.CANCELLED]) is S.ACCEPTED
    assert order_status([S.DELIVERED, S.PICKED_UP]) is S.PICKED_UP
    assert order_status([S.DELIVERED, S.REJECTED_BY_STORE]) is S.DELIVERED


def test_an_order_with_nothing_left_is_cancelled() -> None:
    assert order_status([S.CANCELLED, S.REJECTED_BY_STORE]) is S.CANCELLED


def test_a_failed_delivery_is_the_orders_news_even_beside_a_delivered_part() -> None:
    assert order_status([S.DELIVERED, S.DELIVERY_FAILED]) is S.DELIVERY_FAILED


def test_a_customer_may_cancel_until_something_is_delivered() -> None:
    assert is_customer_cancellable([S.PLACED, S.PACKAGED])
    # After the pickup a cancel is a return to the store.
    assert is_customer_cancellable([S.PACKAGED, S.PICKED_UP])
    assert not is_customer_cancellable([S.PICKED_UP, S.DELIVERED])
    assert not is_customer_cancellable([S.CANCELLED])
