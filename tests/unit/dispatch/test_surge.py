from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from dispatch_service.domain.surge import (
    SurgePolicy,
    offer_level,
    offer_radius_m,
    surge_level,
    surged_pay,
)

POLICY = SurgePolicy(
    slack_thresholds=(timedelta(minutes=45), timedelta(minutes=30), timedelta(minutes=15)),
    step_pct=15,
    cap_pct=40,
    base_radius_m=8_000,
    radius_step_m=4_000,
    max_radius_m=18_000,
)


def test_each_threshold_of_slack_crossed_adds_a_level() -> None:
    levels = [
        surge_level(timedelta(minutes=m), POLICY.slack_thresholds) for m in (60, 40, 20, 10, -5)
    ]

    assert levels == [0, 1, 2, 3, 3]


def test_a_first_offer_is_at_base_pay_and_later_rounds_surge_by_the_slack_left() -> None:
    short = timedelta(minutes=20)

    assert offer_level(short, POLICY.slack_thresholds, round_number=1) == 0
    assert offer_level(short, POLICY.slack_thresholds, round_number=2) == 2
    assert offer_level(timedelta(hours=2), POLICY.slack_thresholds, round_number=5) == 0


def test_pay_rises_stepwise_up_to_the_cap() -> None:
    assert [surged_pay(10_000, level, POLICY) for level in range(5)] == [
        10_000,
        11_500,
        13_000,
        14_000,
        14_000,
    ]


def test_the_radius_widens_with_each_level_up_to_the_maximum() -> None:
    assert [offer_radius_m(level, POLICY) for level in range(4)] == [8_000, 12_000, 16_000, 18_000]


@given(
    base=st.integers(min_value=1, max_value=1_000_000),
    slack_minutes=st.integers(min_value=-60, max_value=120),
)
def test_less_slack_never_pays_less(base: int, slack_minutes: int) -> None:
    now_level = surge_level(timedelta(minutes=slack_minutes), POLICY.slack_thresholds)
    later_level = surge_level(timedelta(minutes=slack_minutes - 5), POLICY.slack_thresholds)

    assert surged_pay(base, later_level, POLICY) >= surged_pay(base, now_level, POLICY) >= base
