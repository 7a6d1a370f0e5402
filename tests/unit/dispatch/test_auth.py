from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import SecretStr

from dispatch_service.auth import InvalidToken, issue_operator_token, operator_subject
from dispatch_service.settings import OperatorAuthSettings

NOW = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
SETTINGS = OperatorAuthSettings(
    operator_jwt_secret=SecretStr("a-test-secret-long-enough-for-hs256"),
    operator_token_seconds=3600,
)


def test_an_issued_operator_token_names_its_operator() -> None:
    token = issue_operator_token(SETTINGS, "ops-ana", NOW)

    assert operator_subject(SETTINGS, token, NOW + timedelta(minutes=59)) == "ops-ana"


def test_an_expired_token_is_refused_on_the_suites_clock() -> None:
    token = issue_operator_token(SETTINGS, "ops-ana", NOW)

    with pytest.raises(InvalidToken):
        operator_subject(SETTINGS, token, NOW + timedelta(minutes=61))


def test_a_token_signed_with_another_secret_is_refused() -> None:
    other = OperatorAuthSettings(
        operator_jwt_secret=SecretStr("another-secret-long-enough-for-hs256")
    )
    token = issue_operator_token(other, "ops-ana", NOW)

    with pytest.raises(InvalidToken):
        operator_subject(SETTINGS, token, NOW)


def test_a_token_without_the_operator_role_is_refused() -> None:
    claims = {"sub": "driver-1", "role": "driver", "exp": int(NOW.timestamp()) + 600}
    token = jwt.encode(claims, SETTINGS.operator_jwt_secret.get_secret_value(), "HS256")

    with pytest.raises(InvalidToken):
        operator_subject(SETTINGS, token, NOW)


@pytest.mark.parametrize("exp", ["soon", None, float("inf"), float("nan"), [1], True])
def test_a_signed_token_with_an_odd_exp_is_refused_not_a_crash(exp: object) -> None:
    claims = {"sub": "ops-ana", "role": "operator", "exp": exp}
    token = jwt.encode(claims, SETTINGS.operator_jwt_secret.get_secret_value(), "HS256")

    with pytest.raises(InvalidToken):
        operator_subject(SETTINGS, token, NOW)


def test_a_signed_token_with_a_huge_exp_is_merely_long_lived() -> None:
    claims = {"sub": "ops-ana", "role": "operator", "exp": 10**20}
    token = jwt.encode(claims, SETTINGS.operator_jwt_secret.get_secret_value(), "HS256")

    assert operator_subject(SETTINGS, token, NOW) == "ops-ana"
