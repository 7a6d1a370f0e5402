from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from driver_service.auth import InvalidToken, decode_token, encode_token
from driver_service.domain.limits import is_stale, retry_after_seconds

SECRET = "unit-test-secret-0123456789abcdefghij"
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_an_access_token_round_trips_until_it_expires() -> None:
    driver_id = uuid.uuid4()
    token, _ = encode_token(SECRET, driver_id, "access", NOON, timedelta(minutes=15))

    claims = decode_token(SECRET, token, "access", NOON + timedelta(minutes=14))

    assert claims.driver_id == driver_id
    with pytest.raises(InvalidToken, match="expired"):
        decode_token(SECRET, token, "access", NOON + timedelta(minutes=15))


def test_a_token_of_the_wrong_kind_or_key_is_invalid() -> None:
    token, _ = encode_token(SECRET, uuid.uuid4(), "refresh", NOON, timedelta(days=1))

    with pytest.raises(InvalidToken):
        decode_token(SECRET, token, "access", NOON)
    with pytest.raises(InvalidToken):
        decode_token("another-secret-0123456789abcdefghijkl", token, "refresh", NOON)
    with pytest.raises(InvalidToken):
        decode_token(SECRET, "garbage", "refresh", NOON)


def test_a_token_once_accepted_is_still_checked_for_its_key_kind_and_expiry() -> None:
    # Verified tokens are remembered (a long poll repeats its token): the memory must not
    # let a token through under another key, as another kind, or after it expired.
    token, _ = encode_token(SECRET, uuid.uuid4(), "access", NOON, timedelta(minutes=15))
    decode_token(SECRET, token, "access", NOON)

    with pytest.raises(InvalidToken):
        decode_token("another-secret-0123456789abcdefghijkl", token, "access", NOON)
    with pytest.raises(InvalidToken, match="not an refresh"):
        decode_token(SECRET, token, "refresh", NOON)
    with pytest.raises(InvalidToken, match="expired"):
        decode_token(SECRET, token, "access", NOON + timedelta(minutes=15))
    with pytest.raises(InvalidToken):
        decode_token(
            SECRET, token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "access", NOON
        )


def test_a_location_update_waits_out_the_interval_in_whole_seconds() -> None:
    interval = timedelta(seconds=5)

    assert retry_after_seconds(None, NOON, interval) == 0
    assert retry_after_seconds(NOON, NOON + timedelta(seconds=1.2), interval) == 4
    assert retry_after_seconds(NOON, NOON + timedelta(seconds=4.9), interval) == 1
    assert retry_after_seconds(NOON, NOON + interval, interval) == 0


def test_a_position_goes_stale_after_the_limit() -> None:
    limit = timedelta(minutes=3)

    assert is_stale(None, NOON, limit)
    assert not is_stale(NOON, NOON + limit, limit)
    assert is_stale(NOON, NOON + limit + timedelta(seconds=1), limit)
