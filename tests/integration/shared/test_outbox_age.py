"""What /metrics reports of the outbox: how many rows wait and how old the oldest is."""

from __future__ import annotations

from sqlalchemy import text

from shared import outbox
from shared.db import Db
from tests.integration.shared.conftest import Ping


async def test_an_empty_outbox_is_zero_rows_and_zero_seconds_old(db: Db) -> None:
    assert await outbox.unsent(db) == (0, 0.0)


async def test_the_oldest_unsent_row_s_age_grows_and_sent_rows_do_not_count(db: Db) -> None:
    async with db.begin() as tx:
        await outbox.add(tx, Ping(key="a", n=1), key="a")
        await outbox.add(tx, Ping(key="b", n=2), key="b")
        await outbox.add(tx, Ping(key="c", n=3), key="c")
        # As if the relay had been stuck for ten minutes on the first; the last went out.
        await tx.execute(
            text("UPDATE outbox SET created_at = now() - interval '10 minutes' WHERE key = 'a'")
        )
        await tx.execute(
            text(
                "UPDATE outbox SET created_at = now() - interval '1 hour', sent_at = now()"
                " WHERE key = 'c'"
            )
        )

    count, oldest = await outbox.unsent(db)

    assert count == 2
    assert 600 <= oldest < 660
