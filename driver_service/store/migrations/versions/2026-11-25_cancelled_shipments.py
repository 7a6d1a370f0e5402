"""cancelled shipments

Revision ID: driver_0003
Revises: driver_0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "driver_0003"
down_revision: str | None = "driver_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cancelled_shipments",
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_cancelled_shipments")),
    )


def downgrade() -> None:
    op.drop_table("cancelled_shipments")
