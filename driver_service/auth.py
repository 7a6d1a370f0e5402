"""Bearer tokens for drivers: a short access JWT and a refresh JWT (HS256)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import jwt

ALGORITHM = "HS256"
TokenKind = Literal["access", "refresh"]


@dataclass(frozen=True)
class Claims:
    driver_id: uuid.UUID
    kind: TokenKind
    jti: uuid.UUID
    expires_at: datetime


class InvalidToken(Exception):
    pass


def encode_token(
    secret: str, driver_id: uuid.UUID, kind: TokenKind, now: datetime, ttl: timedelta
) -> tuple[str, Claims]:
    claims = Claims(driver_id, kind, uuid.uuid4(), now + ttl)
    token = jwt.encode(
        {
            "sub": str(driver_id),
            "typ": kind,
            "jti": str(claims.jti),
            "iat": int(now.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        },
        secret,
        algorithm=ALGORITHM,
    )
    return token, claims


def decode_token(secret: str, token: str, kind: TokenKind, now: datetime) -> Claims:
    try:
        # The suite may run on a simulated clock: check times against it, not the wall clock.
        data = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["sub", "typ", "jti", "exp"],
            },
        )
        claims = Claims(
            uuid.UUID(data["sub"]),
            data["typ"],
            uuid.UUID(data["jti"]),
            datetime.fromtimestamp(int(data["exp"]), now.tzinfo),
        )
    # A validly signed token may still carry an absurd exp: 10**20 overflows a datetime.
    except (jwt.PyJWTError, ValueError, KeyError, TypeError, OverflowError, OSError) as error:
        raise InvalidToken("malformed or wrongly signed token") from error
    if claims.kind != kind:
        raise InvalidToken(f"not an {kind} token")
    if claims.expires_at <= now:
        raise InvalidToken("token expired")
    return claims
