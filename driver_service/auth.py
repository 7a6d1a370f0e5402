"""Bearer tokens for drivers: a short access JWT and a refresh JWT (HS256)."""

from __future__ import annotations

import functools
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
    driver_id, typ, jti, expires = _verified(secret, token)
    try:
        expires_at = datetime.fromtimestamp(expires, now.tzinfo)
    # A validly signed token may still carry an absurd exp: 10**20 overflows a datetime.
    except (ValueError, OverflowError, OSError) as error:
        raise InvalidToken("malformed or wrongly signed token") from error
    claims = Claims(driver_id, typ, jti, expires_at)
    if claims.kind != kind:
        raise InvalidToken(f"not an {kind} token")
    if claims.expires_at <= now:
        raise InvalidToken("token expired")
    return claims


# A driver app sends the same access token with every long poll, so the signature check and
# PyJWT's Python-level parsing (about half a millisecond) ran again for each poll. What a token
# says under a secret never changes: remember it. Refusals raise, and are never remembered;
# the kind and the expiry are checked on every call, against the caller's clock.
@functools.lru_cache(maxsize=16_384)
def _verified(secret: str, token: str) -> tuple[uuid.UUID, TokenKind, uuid.UUID, int]:
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
        return uuid.UUID(data["sub"]), data["typ"], uuid.UUID(data["jti"]), int(data["exp"])
    except (jwt.PyJWTError, ValueError, KeyError, TypeError, OverflowError) as error:
        raise InvalidToken("malformed or wrongly signed token") from error
