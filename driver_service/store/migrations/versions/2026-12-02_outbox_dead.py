"""parked outbox rows and the consumers' effect log

Revision ID: driver_outbox_dead
Revises: driver_windows
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from shared.migrations import create_outbox_dead_and_effect_log, drop_outbox_dead_and_effect_log

revision: str = "driver_outbox_dead"
down_revision: str | None = "driver_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_dead_and_effect_log()


def downgrade() -> None:
    drop_outbox_dead_and_effect_log()
