"""delivery windows: a shipment's window opening, the fleet's rate last told per mall

Revision ID: dispatch_windows
Revises: dispatch_0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "dispatch_windows"
down_revision: str | None = "dispatch_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("shipments", sa.Column("deliver_from", sa.DateTime(timezone=True)))
    op.add_column("mall_states", sa.Column("orders_per_hour", sa.Float()))


def downgrade() -> None:
    op.drop_column("mall_states", "orders_per_hour")
    op.drop_column("shipments", "deliver_from")
