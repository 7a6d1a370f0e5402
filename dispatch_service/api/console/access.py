"""Who may use the console (an operator token, as a bearer token or in the sign-in's cookie), the
console's routers and the dependencies its endpoints share.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from dispatch_service.api.deps import SettingsDep
from dispatch_service.auth import InvalidToken, operator_subject
from dispatch_service.console_feed import ConsoleFeeds
from dispatch_service.peers import Peers
from dispatch_service.settings import DispatchSettings
from shared import clock
from shared.api import Unauthorized, from_app_state
from shared.malls import Mall, pilot_malls
from shared.problems import PROBLEM, NotFound

COOKIE = "mth_console"
CURRENCY = "USD"


def _token_of(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token
    return request.cookies.get(COOKIE, "")


def operator_of(settings: DispatchSettings, token: str) -> str:
    if not token:
        raise Unauthorized(
            "Sign in with an operator token (`python -m dispatch_service.dev token`), or send "
            "it as Authorization: Bearer <token>.",
        )
    try:
        return operator_subject(settings, token, clock.now())
    except InvalidToken:
        raise Unauthorized(
            "The operator token is invalid or expired; sign in with a new one.",
            code="invalid_token",
        ) from None


async def console_operator(request: Request, settings: SettingsDep) -> str:
    return operator_of(settings, _token_of(request))


ConsoleOperator = Annotated[str, Depends(console_operator)]


get_feeds = from_app_state("console_feeds", ConsoleFeeds)
get_peers = from_app_state("peers", Peers)

FeedsDep = Annotated[ConsoleFeeds, Depends(get_feeds)]
PeersDep = Annotated[Peers, Depends(get_peers)]

AUTH: dict[int | str, dict[str, Any]] = {401: PROBLEM}

PREFIX = "/v1/console"
TAGS: list[str | Enum] = ["console"]


def operator_router() -> APIRouter:
    """A router whose every endpoint checks the token before anything else, so a stranger
    learns nothing."""
    return APIRouter(prefix=PREFIX, tags=TAGS, dependencies=[Depends(console_operator)])


def ok_example(example: Any) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {"application/json": {"example": example}}}}


def pilot_mall(mall_id: str) -> Mall:
    for mall in pilot_malls():
        if mall.id == mall_id:
            return mall
    raise NotFound("mall", "No such mall; the console lists the pilot malls at /v1/console/malls.")
