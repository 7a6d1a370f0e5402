"""What every service's routers share: the database and app-state dependencies and the 401.

Each service's `api/deps.py` keeps only what is its own (its settings type, its callers).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar, cast

from fastapi import Depends, Request

from shared.db import Db
from shared.problems import ProblemError

T = TypeVar("T")

# The challenges a 401 names (RFC 9110 §11.6.1), one per way the suite's callers authenticate.
BEARER = "Bearer"
BEARER_INVALID_TOKEN = 'Bearer error="invalid_token"'
API_KEY = "APIKey"


class Unauthorized(ProblemError):
    """A 401: `detail` says which credential to send and how; `challenge` is the
    WWW-Authenticate header's value (None: no header)."""

    def __init__(
        self, detail: str, *, code: str = "unauthorized", challenge: str | None = BEARER
    ) -> None:
        super().__init__(
            401,
            code,
            detail,
            title="Unauthorized",
            headers=None if challenge is None else {"WWW-Authenticate": challenge},
        )


def from_app_state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency answering `app.state.<name>`, which the app's lifespan set. Make it once per
    name (FastAPI caches a dependency per request by the function)."""

    # Async, though it only reads app state: FastAPI runs a plain `def` dependency in a thread.
    async def dependency(request: Request) -> T:
        return cast(T, getattr(request.app.state, name))

    dependency.__name__ = f"get_{name}"
    return dependency


def limit_by_address(name: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency counting an anonymous call against the per-caller limit `name`."""

    async def dependency(request: Request) -> None:
        # Anonymous: the caller is its address (behind a proxy, the one uvicorn trusts to say so).
        caller = request.client.host if request.client else "unknown"
        request.app.state.rate_limits.check(name, caller)

    dependency.__name__ = f"limit_{name}"
    return dependency


get_db = from_app_state("db", Db)

DbDep = Annotated[Db, Depends(get_db)]
