"""Signed, expiring links to proof-of-delivery photos.

The order service hands them to the storefront and the shopper; the driver service, which keeps
the photos, serves a photo only for a link whose signature and expiry hold. Both know the same
secret. Times are the suite's clock, as both services read it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import urlencode

PATH = "/v1/proof-photos"


def _signature(secret: str, sha256: str, expires: int) -> str:
    message = f"proof-photo:{sha256}:{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def photo_url(base_url: str, secret: str, sha256: str, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    query = urlencode({"expires": expires, "signature": _signature(secret, sha256, expires)})
    return f"{base_url.rstrip('/')}{PATH}/{sha256}?{query}"


def is_valid(secret: str, sha256: str, expires: int, signature: str, now: datetime) -> bool:
    """The link was made with this secret and has not expired."""
    expected = _signature(secret, sha256, expires)
    if not hmac.compare_digest(expected, signature):
        return False
    return now < datetime.fromtimestamp(expires, UTC)
