"""Signing in and out of the console."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from dispatch_service.api.console.access import (
    AUTH,
    COOKIE,
    CURRENCY,
    PREFIX,
    TAGS,
    ConsoleOperator,
    ok_example,
    operator_of,
    operator_router,
)
from dispatch_service.api.console.views import SESSION_EXAMPLE, SessionRequest, SessionView
from dispatch_service.api.deps import SettingsDep
from dispatch_service.settings import DispatchSettings

# Signing in is the one endpoint that takes the token in its body.
session_router = APIRouter(prefix=PREFIX, tags=TAGS)
router = operator_router()


@session_router.post(
    "/session",
    summary="Sign in: checks an operator token and keeps it in a cookie for the console page",
    responses={**ok_example(SESSION_EXAMPLE), **AUTH},
)
async def sign_in(
    request: Request,
    response: Response,
    settings: SettingsDep,
    body: SessionRequest | None = None,
) -> SessionView:
    token = body.token.strip() if body else ""
    operator = operator_of(settings, token)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/v1/console",
    )
    return _session(settings, operator)


def _session(settings: DispatchSettings, operator: str) -> SessionView:
    return SessionView(
        operator=operator,
        tile_url=settings.console_tile_url,
        tile_attribution=settings.console_tile_attribution,
        currency=CURRENCY,
    )


@router.get(
    "/session",
    summary="Who is signed in, and the map's settings",
    responses={**ok_example(SESSION_EXAMPLE), **AUTH},
)
async def session(settings: SettingsDep, operator: ConsoleOperator) -> SessionView:
    return _session(settings, operator)


@router.delete(
    "/session", status_code=204, summary="Sign out: forgets the cookie", responses={**AUTH}
)
async def sign_out() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/v1/console")
    return response
