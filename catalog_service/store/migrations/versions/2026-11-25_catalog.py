"""malls, retailers, stores, products, inventory, zone capacity

Revision ID: catalog_0002
Revises: catalog_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "catalog_0002"
down_revision: str | None = "catalog_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _updated_at() -> sa.Column[datetime]:
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "malls",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("hours", JSONB(), nullable=False),
        sa.Column("delivery_radius_m", sa.Integer(), nullable=False),
        sa.Column("road_factor", sa.Float(), nullable=False),
        sa.Column("average_speed_kmh", sa.Float(), nullable=False),
        sa.Column("cutoff_minutes_before_close", sa.Integer(), nullable=False),
        sa.Column("prep_minutes", sa.Integer(), nullable=False),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_malls"),
    )
    op.create_table(
        "retailers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("api_key_sha256", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_retailers"),
        sa.UniqueConstraint("api_key_sha256", name="uq_retailers_api_key_sha256"),
    )
    op.create_table(
        "stores",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("retailer_id", sa.Text(), nullable=False),
        sa.Column("mall_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("prep_minutes", sa.Integer(), nullable=False),
        sa.Column("pickup_instructions", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        _updated_at(),
        sa.ForeignKeyConstraint(
            ["retailer_id"], ["retailers.id"], name="fk_stores_retailer_id_retailers"
        ),
        sa.ForeignKeyConstraint(["mall_id"], ["malls.id"], name="fk_stores_mall_id_malls"),
        sa.PrimaryKeyConstraint("id", name="pk_stores"),
    )
    op.create_index("ix_stores_retailer_id", "stores", ["retailer_id"])
    op.create_index("ix_stores_mall_id", "stores", ["mall_id"])
    op.create_table(
        "products",
        sa.Column("sku", sa.Text(), nullable=False),
        sa.Column("retailer_id", sa.Text(), nullable=False),
        sa.Column("gtin", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("brand", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("image_urls", JSONB(), nullable=False),
        _updated_at(),
        sa.CheckConstraint("price_cents >= 0", name="ck_products_price_cents_not_negative"),
        sa.ForeignKeyConstraint(
            ["retailer_id"], ["retailers.id"], name="fk_products_retailer_id_retailers"
        ),
        sa.PrimaryKeyConstraint("sku", name="pk_products"),
    )
    op.create_index("ix_products_retailer_id", "products", ["retailer_id"])
    op.create_table(
        "inventory",
        sa.Column("store_id", sa.Text(), nullable=False),
        sa.Column("sku", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        _updated_at(),
        sa.CheckConstraint("quantity >= 0", name="ck_inventory_quantity_not_negative"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name="fk_inventory_store_id_stores"),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name="fk_inventory_sku_products"),
        sa.PrimaryKeyConstraint("store_id", "sku", name="pk_inventory"),
    )
    op.create_index("ix_inventory_sku", "inventory", ["sku"])
    op.create_table(
        "zone_capacity",
        sa.Column("mall_id", sa.Text(), nullable=False),
        sa.Column("h3_cell", sa.Text(), nullable=False),
        sa.Column("same_day_enabled", sa.Boolean(), nullable=False),
        sa.Column("promise_delay_minutes", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _updated_at(),
        sa.ForeignKeyConstraint(["mall_id"], ["malls.id"], name="fk_zone_capacity_mall_id_malls"),
        sa.PrimaryKeyConstraint("mall_id", "h3_cell", name="pk_zone_capacity"),
    )


def downgrade() -> None:
    op.drop_table("zone_capacity")
    op.drop_index("ix_inventory_sku", table_name="inventory")
    op.drop_table("inventory")
    op.drop_index("ix_products_retailer_id", table_name="products")
    op.drop_table("products")
    op.drop_index("ix_stores_mall_id", table_name="stores")
    op.drop_index("ix_stores_retailer_id", table_name="stores")
    op.drop_table("stores")
    op.drop_table("retailers")
    op.drop_table("malls")
