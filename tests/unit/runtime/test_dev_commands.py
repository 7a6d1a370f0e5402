"""The dev commands that mint tokens and issue credentials need nothing set while `make up` runs."""

from __future__ import annotations

import os
import subprocess
import sys

import jwt
import pytest

from catalog_service.settings import CatalogSettings
from driver_service.settings import DriverSettings
from order_service.settings import OrderSettings
from services import infra
from services.suite import ROOT
from shared.settings import ServiceSettings, load_dev_settings

PREFIXES = ("CATALOG_", "ORDER_", "DISPATCH_", "DRIVER_")


def without_service_settings() -> dict[str, str]:
    """A new terminal's environment: nothing of the services' own."""
    return {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}


def run_dev(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=without_service_settings(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_customer_token_needs_no_variable() -> None:
    done = run_dev("order_service.dev", "token", "--customer", "alice")

    assert done.returncode == 0, done.stderr
    # Signed with the secret the order service runs with under `make up` (its default).
    secret = OrderSettings(database_url="postgresql+asyncpg://u@h/d").jwt_secret
    claims = jwt.decode(done.stdout.strip(), secret, algorithms=["HS256"])
    assert claims["sub"] == "alice" and claims["role"] == "customer"


def test_an_operator_token_needs_no_variable() -> None:
    done = run_dev("dispatch_service.dev", "token")

    assert done.returncode == 0, done.stderr
    assert done.stdout.count(".") == 2


@pytest.mark.parametrize(
    ("settings", "database"),
    [(CatalogSettings, "catalog"), (OrderSettings, "orders"), (DriverSettings, "drivers")],
)
def test_the_dev_commands_use_the_database_make_up_runs(
    settings: type[ServiceSettings], database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)

    assert load_dev_settings(settings).database_url == infra.database_url(database)


def test_a_database_url_that_is_set_still_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDER_DATABASE_URL", "postgresql+asyncpg://someone@db.internal/orders")

    assert load_dev_settings(OrderSettings).database_url.endswith("@db.internal/orders")
