from __future__ import annotations

import hashlib

import pytest

from driver_service.domain.errors import OutsideGeofence, ScanMismatch, WrongPin
from driver_service.domain.stop_rules import check_pin, check_scan, check_within
from shared.geo import Point

LABELS = ["A-1", "A-2", "A-3"]
DOOR = Point(36.1447, -115.1570)


def test_a_full_scan_in_any_order_picks_everything_up() -> None:
    result = check_scan(LABELS, ["A-3", "A-1", "A-2", "A-1"], partial=False)

    assert (result.picked, result.missing) == (LABELS, [])


def test_a_missing_label_is_refused_unless_the_pickup_is_declared_partial() -> None:
    with pytest.raises(ScanMismatch) as refused:
        check_scan(LABELS, ["A-1", "A-3"], partial=False)

    assert refused.value.missing == ["A-2"]
    assert "A-2" in refused.value.detail
    partial = check_scan(LABELS, ["A-1", "A-3"], partial=True)
    assert (partial.picked, partial.missing) == (["A-1", "A-3"], ["A-2"])


def test_an_unknown_label_is_refused_even_in_a_partial_pickup() -> None:
    with pytest.raises(ScanMismatch) as refused:
        check_scan(LABELS, ["A-1", "B-7"], partial=True)

    assert refused.value.unknown == ["B-7"]


def test_scanning_nothing_is_not_a_pickup() -> None:
    with pytest.raises(ScanMismatch):
        check_scan(LABELS, [], partial=True)


def test_a_position_inside_the_geofence_passes_and_outside_names_the_distance() -> None:
    assert check_within(DOOR, Point(DOOR.lat + 0.001, DOOR.lng), 150) < 150

    with pytest.raises(OutsideGeofence) as outside:
        check_within(DOOR, Point(DOOR.lat + 0.002, DOOR.lng), 150)

    assert 200 < outside.value.distance_m < 250


def test_the_pin_must_match_its_hash_when_the_order_has_one() -> None:
    digest = hashlib.sha256(b"4821").hexdigest()

    check_pin(digest, "4821")
    check_pin(None, None)
    with pytest.raises(WrongPin):
        check_pin(digest, "4822")
    with pytest.raises(WrongPin):
        check_pin(digest, None)
