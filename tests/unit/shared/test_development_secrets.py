"""Services refuse the development secrets written in the repository unless development mode
is on, and say which variables to set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from catalog_service.settings import CatalogSettings
from dispatch_service.settings import DispatchSettings, OperatorAuthSettings
from driver_service.settings import DriverSettings
from order_service.settings import OrderSettings
from shared.settings import DEVELOPMENT_MODE_VARIABLE, describe_settings_error

URL = "postgresql+asyncpg://u@127.0.0.1:1/db"
ROOT = Path(__file__).resolve().parents[3]
OWN = SecretStr("a-secret-of-our-own-0123456789-abcdefghij")


@pytest.mark.parametrize(
    ("settings", "prefix", "variables"),
    [
        (CatalogSettings, "CATALOG_", ["CATALOG_TOKEN_SECRET", "CATALOG_INTERNAL_TOKEN"]),
        (
            OrderSettings,
            "ORDER_",
            [
                "ORDER_JWT_SECRET",
                "ORDER_OPERATOR_TOKEN",
                "ORDER_CATALOG_INTERNAL_TOKEN",
                "ORDER_STOREFRONT_TOKEN",
                "ORDER_PROOF_URL_SECRET",
            ],
        ),
        (
            DispatchSettings,
            "DISPATCH_",
            [
                "DISPATCH_OPERATOR_JWT_SECRET",
                "DISPATCH_ORDER_OPERATOR_TOKEN",
                "DISPATCH_DRIVER_OPERATOR_TOKEN",
            ],
        ),
        (OperatorAuthSettings, "DISPATCH_", ["DISPATCH_OPERATOR_JWT_SECRET"]),
        (
            DriverSettings,
            "DRIVER_",
            ["DRIVER_JWT_SECRET", "DRIVER_OPERATOR_TOKEN", "DRIVER_PROOF_URL_SECRET"],
        ),
    ],
)
def test_development_defaults_are_refused_naming_each_variable(
    settings: type[OperatorAuthSettings], prefix: str, variables: list[str]
) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(database_url=URL, development_mode=False)

    message = describe_settings_error(refused.value, prefix)
    for variable in variables:
        assert variable in message
    assert DEVELOPMENT_MODE_VARIABLE in message
    assert "dev-" not in message  # the message never repeats a secret


def test_development_mode_accepts_the_defaults() -> None:
    assert OrderSettings(database_url=URL, development_mode=True).operator_token


def test_secrets_of_ones_own_need_no_development_mode() -> None:
    catalog = CatalogSettings(
        database_url=URL,
        development_mode=False,
        token_secret=OWN.get_secret_value(),
        internal_token=OWN,
    )
    driver = DriverSettings(
        database_url=URL,
        development_mode=False,
        jwt_secret=OWN.get_secret_value(),
        operator_token=OWN,
        proof_url_secret=OWN,
    )

    assert catalog.token_secret == driver.jwt_secret == OWN.get_secret_value()


def test_a_service_started_without_development_mode_exits_naming_the_variable() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DRIVER_", DEVELOPMENT_MODE_VARIABLE))
    }
    env["DRIVER_DATABASE_URL"] = URL

    done = subprocess.run(
        [sys.executable, "-m", "driver_service"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "DRIVER_JWT_SECRET" in done.stderr
    assert f"{DEVELOPMENT_MODE_VARIABLE}=1" in done.stderr
