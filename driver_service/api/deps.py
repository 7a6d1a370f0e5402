from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from driver_service.settings import DriverSettings
from shared.db import Db


def get_db(request: Request) -> Db:
    db: Db = request.app.state.db
    return db


def get_settings(request: Request) -> DriverSettings:
    settings: DriverSettings = request.app.state.settings
    return settings


DbDep = Annotated[Db, Depends(get_db)]
SettingsDep = Annotated[DriverSettings, Depends(get_settings)]
