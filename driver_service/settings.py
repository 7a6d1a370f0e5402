from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class DriverSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DRIVER_", extra="ignore")

    service_name: str = "driver"
    port: int = 8004
