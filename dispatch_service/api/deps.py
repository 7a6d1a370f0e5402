from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dispatch_service.auth import InvalidToken, operator_subject
from dispatch_service.settings import DispatchSettings
from dispatch_service.usecases import Policies
from shared import clock
from shared.api import BEARER_INVALID_TOKEN, Unauthorized, from_app_state

get_settings = from_app_state("settings", DispatchSettings)
get_policies = from_app_state("policies", Policies)

SettingsDep = Annotated[DispatchSettings, Depends(get_settings)]
PoliciesDep = Annotated[Policies, Depends(get_policies)]


def require_operator(request: Request, settings: SettingsDep) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send an operator token: Authorization: Bearer <token>.")
    try:
        return operator_subject(settings, token, clock.now())
    except InvalidToken:
        raise Unauthorized(
            "The token is not a valid operator token; get a new one.",
            code="invalid_token",
            challenge=BEARER_INVALID_TOKEN,
        ) from None


OperatorDep = Annotated[str, Depends(require_operator)]
