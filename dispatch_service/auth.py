"""Operator tokens: HS256 JWTs with role "operator", signed with the dispatch secret."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import jwt

from dispatch_service.settings import OperatorAuthSettings

OPERATOR_ROLE = "operator"
ALGORITHM = "HS256"


class InvalidToken(Exception):
    pass


def issue_operator_token(settings: OperatorAuthSettings, subject: str, now: datetime) -> str:
    claims = {
        "sub": subject,
        "role": OPERATOR_ROLE,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.operator_token_seconds)).timestamp()),
    }
    return jwt.encode(claims, settings.operator_jwt_secret.get_secret_value(), ALGORITHM)


def operator_subject(settings: OperatorAuthSettings, token: str, now: datetime) -> str:
    """The operator's name; raises InvalidToken for anything but a valid operator token."""
    try:
        claims = jwt.decode(
            token,
            settings.operator_jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            options={
                "require": ["sub", "exp", "role"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from None
    # Times against the suite's clock, which the demo runs ahead and compressed, not the wall's.
    expires = claims["exp"]
    if (
        not isinstance(expires, int | float)
        or isinstance(expires, bool)
        or not math.isfinite(expires)
    ):
        raise InvalidToken("exp is not a time")
    if expires < now.timestamp():
        raise InvalidToken("expired")
    if claims.get("role") != OPERATOR_ROLE:
        raise InvalidToken("not an operator token")
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidToken("sub is not a name")
    return subject
