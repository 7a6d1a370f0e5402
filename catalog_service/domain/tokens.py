"""Opaque tokens handed to customers: offer ids and pagination cursors.

An offer id is the deterministic authenticated encryption (AES-SIV) of sku, mall, h3 cell and
local day, padded to one length: the order service decrypts it server-side, a client can neither
read nor forge it, it is the same whichever stores hold the stock, and it changes with the cell
and the day so it cannot follow a store across queries. Its length is fixed because a length
that varied with the mall id would tell malls apart.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

_SEP = "\x1f"
_OFFER_PLAINTEXT_BYTES = 112
MAX_SKU_LENGTH = 40
MAX_MALL_ID_LENGTH = 48


class BadToken(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class OfferRef:
    sku: str
    mall_id: str
    cell: str
    day: date


class OfferCodec:
    def __init__(self, secret: str) -> None:
        key = hashlib.sha512(f"offer-id:{secret}".encode()).digest()
        self._siv = AESSIV(key)

    def encode(self, ref: OfferRef) -> str:
        plain = _SEP.join((ref.sku, ref.mall_id, ref.cell, ref.day.isoformat())).encode()
        if len(plain) > _OFFER_PLAINTEXT_BYTES:
            raise ValueError("offer fields too long to encode")
        sealed = self._siv.encrypt(plain.ljust(_OFFER_PLAINTEXT_BYTES, b"\0"), None)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def decode(self, token: str) -> OfferRef:
        try:
            sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            plain = self._siv.decrypt(sealed, None).rstrip(b"\0").decode()
            sku, mall_id, cell, day = plain.split(_SEP)
            return OfferRef(sku, mall_id, cell, date.fromisoformat(day))
        except (InvalidTag, ValueError, binascii.Error) as error:
            raise BadToken("not an offer id") from error


class CursorCodec:
    """A cursor names the last listing of a page (its sort key), signed against tampering."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(f"cursor:{secret}".encode()).digest()

    def encode(self, sort_key: tuple[str, str]) -> str:
        body = _SEP.join(sort_key).encode()
        tag = hmac.digest(self._key, body, "sha256")[:16]
        return base64.urlsafe_b64encode(tag + body).rstrip(b"=").decode()

    def decode(self, cursor: str) -> tuple[str, str]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError) as error:
            raise BadToken("not a cursor") from error
        tag, body = raw[:16], raw[16:]
        expected = hmac.digest(self._key, body, "sha256")[:16]
        if len(tag) != 16 or not hmac.compare_digest(tag, expected):
            raise BadToken("not a cursor")
        parts = body.decode(errors="replace").split(_SEP)
        if len(parts) != 2:
            raise BadToken("not a cursor")
        return parts[0], parts[1]
