from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from catalog_service.settings import CatalogSettings
from order_service.settings import OrderSettings
from shared.settings import describe_settings_error

URL = "postgresql+asyncpg://u@127.0.0.1:1/db"


def test_catalog_and_order_default_to_the_same_development_token() -> None:
    catalog = CatalogSettings(database_url=URL).internal_token.get_secret_value()
    order = OrderSettings(database_url=URL).catalog_internal_token.get_secret_value()

    assert catalog == order
    assert "change-me-in-production" in catalog
    assert len(catalog.encode()) >= 32


def test_a_short_internal_token_is_refused_naming_its_variable() -> None:
    with pytest.raises(ValidationError) as catalog:
        CatalogSettings(database_url=URL, internal_token=SecretStr("short"))
    with pytest.raises(ValidationError) as order:
        OrderSettings(database_url=URL, catalog_internal_token=SecretStr("short"))

    assert describe_settings_error(catalog.value, "CATALOG_") == (
        "invalid settings: CATALOG_INTERNAL_TOKEN must be at least 32 bytes"
    )
    assert describe_settings_error(order.value, "ORDER_") == (
        "invalid settings: ORDER_CATALOG_INTERNAL_TOKEN must be at least 32 bytes"
    )
    assert "short" not in str(catalog.value) + str(order.value)
