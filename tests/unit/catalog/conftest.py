from __future__ import annotations

from datetime import UTC, datetime

from catalog_service.domain.listings import CatalogReadModel, Product
from catalog_service.domain.promise import MallRules
from catalog_service.settings import CatalogSettings
from catalog_service.usecases import CatalogRuntime
from shared.geo import Point, TravelModel
from shared.malls import pilot_malls

# A Wednesday: 11:00 in Las Vegas, 12:00 in Chandler, 13:00 in Friendswood, 14:00 in Tysons.
NOW = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
AS_OF = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
LAS_VEGAS = "fashion-show-las-vegas"
STRIP = Point(36.12, -115.17)


def pilot_rules(**overrides: object) -> list[MallRules]:
    values: dict[str, object] = {
        "delivery_radius_m": 30_000,
        "travel": TravelModel(1.3, 40.0),
        "cutoff_minutes_before_close": 90,
        "prep_minutes": 30,
        **overrides,
    }
    return [
        MallRules(
            mall_id=mall.id,
            point=mall.point,
            timezone=mall.timezone,
            hours=mall.hours,
            **values,  # type: ignore[arg-type]
        )
        for mall in pilot_malls()
    ]


def a_product(sku: str, title: str = "Plain Tee", category: str = "apparel") -> Product:
    return Product(
        sku=sku,
        gtin="00012345678905",
        title=title,
        brand="Brisa",
        category=category,
        price_cents=1999,
        currency="USD",
        image_urls=(f"https://images.example/{sku}.jpg",),
    )


def a_model(rules: list[MallRules] | None = None) -> CatalogReadModel:
    return CatalogReadModel(rules or pilot_rules(), h3_resolution=7)


def a_runtime(model: CatalogReadModel) -> CatalogRuntime:
    runtime = CatalogRuntime(
        CatalogSettings(
            database_url="postgresql+asyncpg://unused@127.0.0.1/unused",
            token_secret="unit-test-token-secret",
        )
    )
    runtime.model = model
    return runtime
