from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dispatch_service.settings import DispatchSettings
from shared.db import Db


def get_db(request: Request) -> Db:
    db: Db = request.app.state.db
    return db


def get_settings(request: Request) -> DispatchSettings:
    settings: DispatchSettings = request.app.state.settings
    return settings


DbDep = Annotated[Db, Depends(get_db)]
SettingsDep = Annotated[DispatchSettings, Depends(get_settings)]
