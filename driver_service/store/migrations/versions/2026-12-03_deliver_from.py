"""a drop-off's window opening

Revision ID: driver_windows
Revises: driver_0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "driver_windows"
down_revision: str | None = "driver_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("route_stops", sa.Column("deliver_from", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("route_stops", "deliver_from")
