from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dispatch_service.auth import InvalidToken, operator_subject
from dispatch_service.settings import DispatchSettings
from dispatch_service.usecases import Policies
from shared import clock
from shared.db import Db
from shared.problems import ProblemError


async def get_db(request: Request) -> Db:
    db: Db = request.app.state.db
    return db


async def get_settings(request: Request) -> DispatchSettings:
    settings: DispatchSettings = request.app.state.settings
    return settings


async def get_policies(request: Request) -> Policies:
    policies: Policies = request.app.state.policies
    return policies


DbDep = Annotated[Db, Depends(get_db)]
SettingsDep = Annotated[DispatchSettings, Depends(get_settings)]
PoliciesDep = Annotated[Policies, Depends(get_policies)]


def require_operator(request: Request, settings: SettingsDep) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ProblemError(
            401,
            "unauthorized",
            "Send an operator token: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return operator_subject(settings, token, clock.now())
    except InvalidToken:
        raise ProblemError(
            401,
            "invalid_token",
            "The token is not a valid operator token; get a new one.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None


OperatorDep = Annotated[str, Depends(require_operator)]
