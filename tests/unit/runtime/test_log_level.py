"""The Kubernetes config map's `LOG_LEVEL` sets every service's level; `<SERVICE>_LOG_LEVEL`
still overrides it for one service."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from catalog_service.app import create_app
from catalog_service.settings import CatalogSettings
from dispatch_service.settings import DispatchSettings
from driver_service.settings import DriverSettings
from order_service.settings import OrderSettings
from services.suite import ROOT
from shared.settings import ServiceSettings

ALL = [CatalogSettings, OrderSettings, DispatchSettings, DriverSettings]
A_URL = "postgresql+asyncpg://u@db/x"


@pytest.fixture(autouse=True)
def no_log_level_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.endswith("LOG_LEVEL"):
            monkeypatch.delenv(name)


@pytest.fixture
def root_level() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.mark.parametrize("settings", ALL)
def test_log_level_sets_every_service(
    settings: type[ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")

    assert settings(database_url=A_URL).log_level == "DEBUG"


@pytest.mark.parametrize("settings", ALL)
def test_the_service_s_own_variable_wins(
    settings: type[ServiceSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = str(settings.model_config.get("env_prefix"))
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv(f"{prefix}LOG_LEVEL", "ERROR")

    assert settings(database_url=A_URL).log_level == "ERROR"


def test_info_without_either() -> None:
    assert OrderSettings(database_url=A_URL).log_level == "INFO"


@pytest.mark.usefixtures("root_level")
def test_the_service_logs_at_that_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "WARNING")

    create_app(CatalogSettings(database_url=A_URL))

    assert logging.getLogger().level == logging.WARNING


def test_an_unknown_level_is_one_line_naming_the_variables() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    done = subprocess.run(
        [sys.executable, "-m", "catalog_service"],
        cwd=ROOT,
        env={**env, "CATALOG_DATABASE_URL": A_URL, "LOG_LEVEL": "loud"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert "CATALOG_LOG_LEVEL (or LOG_LEVEL)" in done.stderr
