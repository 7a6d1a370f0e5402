"""wrong delivery PINs, kept for fraud review and to lock a stop after too many

Revision ID: driver_0005
Revises: driver_0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "driver_0005"
down_revision: str | None = "driver_windows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wrong_pins",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("stop_id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wrong_pins")),
    )
    op.create_index(op.f("ix_wrong_pins_stop_id"), "wrong_pins", ["stop_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_wrong_pins_stop_id"), table_name="wrong_pins")
    op.drop_table("wrong_pins")
