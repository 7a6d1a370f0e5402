from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from order_service.settings import OrderSettings
from shared.db import Db


def get_db(request: Request) -> Db:
    db: Db = request.app.state.db
    return db


def get_settings(request: Request) -> OrderSettings:
    settings: OrderSettings = request.app.state.settings
    return settings


DbDep = Annotated[Db, Depends(get_db)]
SettingsDep = Annotated[OrderSettings, Depends(get_settings)]
