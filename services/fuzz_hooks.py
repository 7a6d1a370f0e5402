"""Schemathesis hooks for `make fuzz` (loaded with SCHEMATHESIS_HOOKS=services.fuzz_hooks).

`services.fuzz` writes a context file (MTH_FUZZ_CONTEXT) before it starts schemathesis: the
service under test, valid credentials of each kind of caller, and every store and mall
identifier. The hooks give each call the credentials its operation is for (by OpenAPI tag), sign
POS events as a store's POS would, count the calls, and scan every customer-facing response for
store identifiers; counts go to a file at exit.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, HookContext, Response
from standardwebhooks import Webhook

from services.leaks import LeakScanner

CONTEXT_VARIABLE = "MTH_FUZZ_CONTEXT"
POS_EVENTS_PATH = "/v1/retailer/events"
_lock = threading.Lock()
_counts: dict[str, Any] = {"calls": 0, "leaks": 0, "leaked": []}


@functools.cache
def _context() -> dict[str, Any]:
    """The run's context; read on first use, so importing this module needs none."""
    context: dict[str, Any] = json.loads(Path(os.environ[CONTEXT_VARIABLE]).read_text())
    atexit.register(_write_counts, Path(context["counts_file"]))
    return context


@functools.cache
def _scanner() -> LeakScanner:
    scanner = LeakScanner()
    scanner.add(_context()["identifiers"])
    return scanner


def _write_counts(path: Path) -> None:
    with _lock:
        path.write_text(json.dumps(_counts))


@schemathesis.hook
def before_call(context: HookContext, case: Case[Any], kwargs: dict[str, Any]) -> None:
    operation = case.operation
    headers = case.headers
    # Each operation gets the valid credentials of the caller its tag is for.
    credentials: dict[str, dict[str, str]] = _context()["credentials_by_tag"]
    for tag in operation.tags or ():
        for name, value in credentials.get(tag, {}).items():
            headers[name] = value
    if operation.path == POS_EVENTS_PATH and "webhook_secret" in _context():
        _sign_pos_event(case, headers, kwargs)


def _sign_pos_event(case: Case[Any], headers: Any, kwargs: dict[str, Any]) -> None:
    """Signs the body exactly as it is sent, as the store's POS would (Standard Webhooks)."""
    body = case.body
    try:
        raw = json.dumps(body).encode()
    except (TypeError, ValueError):
        return  # not JSON (a negative case): it goes unsigned and must be refused
    webhook_id = f"msg_{uuid.uuid4().hex}"
    at = datetime.now(UTC)
    kwargs["data"] = raw
    headers["content-type"] = "application/json"
    headers["webhook-id"] = webhook_id
    headers["webhook-timestamp"] = str(int(at.timestamp()))
    headers["webhook-signature"] = Webhook(_context()["webhook_secret"]).sign(
        webhook_id, at, raw.decode()
    )


@schemathesis.hook
def after_call(context: HookContext, case: Case[Any], response: Response) -> None:
    _context()  # the counts file is written at exit once the context is known
    with _lock:
        _counts["calls"] += 1


@schemathesis.check
def no_store_or_mall_named(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """A customer-facing response names no store or mall: body and headers, every byte."""
    if not set(_context()["customer_tags"]).intersection(case.operation.tags or ()):
        return None
    text = response.content.decode("utf-8", errors="replace").casefold()
    headers = "\n".join(f"{k}: {', '.join(v)}" for k, v in response.headers.items()).casefold()
    found = sorted(i for i in _scanner().identifiers if i in text or i in headers)
    if found:
        with _lock:
            _counts["leaks"] += 1
            _counts["leaked"].append(f"{case.method} {case.operation.path}: {found[:3]}")
        raise AssertionError(f"customer-facing response names a store or mall: {found[:3]}")
    return None
