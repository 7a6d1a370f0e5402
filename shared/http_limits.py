"""Limits every request meets before a handler spends anything on it: body size and rate.

The body limit is a pure ASGI middleware. Starlette has one too, but it answers `text/plain`
(and replaces a handler's response with it); ours answers an RFC 9457 problem like every other
4xx. A declared `Content-Length` over the limit is refused before the app is called, so before
authentication and without reading a byte; a body without one is counted as it streams in and
refused once past the limit, so nothing larger is ever buffered.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence

import limits
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import trace_id_var
from shared.problems import PROBLEM_MEDIA_TYPE, Problem, ProblemError

_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class PayloadTooLarge(HTTPException):
    """Raised while reading a body past its limit; the app's handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request bodies here are at most {limit} bytes; send less.")


class BodyLimit:
    def __init__(
        self, app: ASGIApp, *, max_bytes: int, overrides: Sequence[tuple[str, int]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # (path regex, limit): routes that take more, such as a photo upload.
        self.overrides = [(re.compile(pattern), limit) for pattern, limit in overrides]

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.overrides:
            if pattern.fullmatch(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"]) if self.overrides else self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    await _send_too_large(scope, send, limit)
                    return
                break
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except PayloadTooLarge:
            if started:
                raise
            await _send_too_large(scope, send, limit)


async def _send_too_large(scope: Scope, send: Send, limit: int) -> None:
    body = Problem(
        type="urn:mall-to-home:problem:payload-too-large",
        title="Content too large",
        status=413,
        detail=f"Request bodies here are at most {limit} bytes; send less.",
        instance=scope["path"],
        code="payload_too_large",
        trace_id=trace_id_var.get() or None,
    ).model_dump_json(exclude_none=True)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is never read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


def parse_rate(value: str) -> str:
    """Validates a rate such as "60/minute" (the `limits` notation); returns it unchanged."""
    try:
        limits.parse(value)
    except ValueError:
        raise ValueError(
            f"expected a rate such as 60/minute or 10/second, got {value!r}"
        ) from None
    return value


class RateLimits:
    """Per-caller limits of one process, by name; each caller has its own sliding window.

    Counts live in memory: with N replicas a caller gets up to N times the rate, which still
    stops one client hammering one process.
    """

    def __init__(self, rates: Mapping[str, str]) -> None:
        self._items = {name: limits.parse(rate) for name, rate in rates.items()}
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def hit(self, name: str, caller: str) -> bool:
        """Counts one request of `caller`; False once past the rate."""
        return bool(self._limiter.hit(self._items[name], name, caller))

    def check(self, name: str, caller: str) -> None:
        """Counts one request of `caller`; raises a 429 problem with Retry-After past the rate."""
        if self.hit(name, caller):
            return
        item = self._items[name]
        reset_at = self._limiter.get_window_stats(item, name, caller).reset_time
        wait = max(1, math.ceil(reset_at - time.time()))
        raise ProblemError(
            429,
            "rate_limited",
            f"Too many requests; retry in {wait} seconds.",
            title="Too many requests",
            headers={"Retry-After": str(wait)},
        )
