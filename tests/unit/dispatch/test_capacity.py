from __future__ import annotations

from dispatch_service.domain.capacity import (
    CapacityPolicy,
    CapacityState,
    CapacityStatus,
    observe,
    observed_status,
)

POLICY = CapacityPolicy(at_risk_saturation_count=3, rounds=2, promise_delay_minutes=45)


def test_a_pool_with_no_drivers_is_observed_as_disabled() -> None:
    status = observed_status(pool_size=4, at_risk_count=0, has_drivers=False, policy=POLICY)

    assert status is CapacityStatus.DISABLED


def test_an_empty_pool_without_drivers_is_normal() -> None:
    status = observed_status(pool_size=0, at_risk_count=0, has_drivers=False, policy=POLICY)

    assert status is CapacityStatus.NORMAL


def test_many_shipments_at_risk_delay_the_promise() -> None:
    status = observed_status(pool_size=5, at_risk_count=3, has_drivers=True, policy=POLICY)

    assert status is CapacityStatus.DELAYED


def test_orders_left_waiting_for_drivers_delay_the_promise_before_any_is_at_risk() -> None:
    short = observed_status(
        pool_size=2, at_risk_count=0, has_drivers=True, is_short_of_drivers=True, policy=POLICY
    )
    nobody = observed_status(
        pool_size=2, at_risk_count=0, has_drivers=False, is_short_of_drivers=True, policy=POLICY
    )

    assert short is CapacityStatus.DELAYED
    assert nobody is CapacityStatus.DISABLED


def test_same_day_stops_only_after_saturation_persists_and_returns_after_it_clears() -> None:
    state = CapacityState()

    state, first = observe(state, CapacityStatus.DISABLED, POLICY)
    state, second = observe(state, CapacityStatus.DISABLED, POLICY)

    assert first is None
    assert second is not None
    assert not second.same_day_enabled
    assert state.status is CapacityStatus.DISABLED

    state, _ = observe(state, CapacityStatus.NORMAL, POLICY)
    state, back = observe(state, CapacityStatus.NORMAL, POLICY)

    assert back is not None
    assert back.same_day_enabled
    assert back.promise_delay_minutes == 0


def test_one_clear_round_between_bad_rounds_restarts_the_count() -> None:
    state = CapacityState()
    signals = []
    for observed in (CapacityStatus.DELAYED, CapacityStatus.NORMAL, CapacityStatus.DELAYED):
        state, signal = observe(state, observed, POLICY)
        signals.append(signal)

    assert signals == [None, None, None]
    state, signal = observe(state, CapacityStatus.DELAYED, POLICY)
    assert signal is not None
    assert signal.same_day_enabled
    assert signal.promise_delay_minutes == 45
