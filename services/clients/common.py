"""What every client shares: the status check the tests use, problems, the optional gate."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

Json = dict[str, Any]

# The smallest valid JPEG header is enough: the driver service checks type and size, not pixels.
PROOF_PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def expect(response: httpx.Response, status: int) -> Json:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.status_code} "
        f"{response.text[:600]}"
    )
    if not response.content:
        return {}
    body: Json = response.json()
    return body


def problem_code(response: httpx.Response) -> str:
    """The RFC 9457 problem's `code`, or "" when the body is not one."""
    try:
        return str(response.json().get("code", ""))
    except (ValueError, AttributeError):
        return ""


def gated(gate: asyncio.Semaphore | None) -> AbstractAsyncContextManager[Any]:
    # A few calls at a time where the caller asks: on a busy machine more only queue for the
    # service's DB pool.
    return gate if gate is not None else contextlib.nullcontext()
