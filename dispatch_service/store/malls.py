from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from dispatch_service.domain.capacity import CapacityState, CapacityStatus
from dispatch_service.store.tables import mall_states
from shared.db import Tx


async def state_for_update(tx: Tx, mall_id: str) -> tuple[datetime | None, CapacityState]:
    """(last round time, capacity state), creating the mall's row on first sight."""
    await tx.execute(
        insert(mall_states)
        .values(mall_id=mall_id, capacity_status=CapacityStatus.NORMAL, pending_rounds=0)
        .on_conflict_do_nothing(index_elements=["mall_id"])
    )
    row = (
        await tx.execute(
            select(mall_states).where(mall_states.c.mall_id == mall_id).with_for_update()
        )
    ).one()
    pending = None if row.pending_status is None else CapacityStatus(row.pending_status)
    return row.last_round_at, CapacityState(
        CapacityStatus(row.capacity_status), pending, row.pending_rounds
    )


async def not_normal(tx: Tx) -> list[str]:
    result = await tx.execute(
        select(mall_states.c.mall_id).where(mall_states.c.capacity_status != CapacityStatus.NORMAL)
    )
    return list(result.scalars())


async def last_round(tx: Tx, mall_id: str) -> tuple[datetime | None, bool]:
    """(when the mall's last round ran, whether it left shipments behind for want of drivers)."""
    row = (
        await tx.execute(
            select(mall_states.c.last_round_at, mall_states.c.is_short_of_drivers).where(
                mall_states.c.mall_id == mall_id
            )
        )
    ).first()
    return (None, False) if row is None else (row.last_round_at, row.is_short_of_drivers)


async def save_state(
    tx: Tx,
    mall_id: str,
    *,
    round_at: datetime,
    state: CapacityState,
    changed: bool,
    is_short_of_drivers: bool,
) -> None:
    values: dict[str, object] = {
        "last_round_at": round_at,
        "is_short_of_drivers": is_short_of_drivers,
        "capacity_status": state.status,
        "pending_status": state.pending,
        "pending_rounds": state.pending_rounds,
    }
    if changed:
        values["capacity_changed_at"] = round_at
    await tx.execute(mall_states.update().where(mall_states.c.mall_id == mall_id).values(**values))


async def orders_per_hour(tx: Tx, mall_id: str) -> float | None:
    row = (
        await tx.execute(
            select(mall_states.c.orders_per_hour).where(mall_states.c.mall_id == mall_id)
        )
    ).first()
    return None if row is None or row[0] is None else float(row[0])


async def save_orders_per_hour(tx: Tx, mall_id: str, rate: float) -> None:
    await tx.execute(
        mall_states.update().where(mall_states.c.mall_id == mall_id).values(orders_per_hour=rate)
    )


@dataclass(frozen=True, slots=True)
class MallConsoleState:
    capacity: CapacityStatus
    is_paused: bool
    paused_by: str | None
    paused_at: datetime | None


async def console_state(tx: Tx, mall_id: str) -> MallConsoleState:
    row = (await tx.execute(select(mall_states).where(mall_states.c.mall_id == mall_id))).first()
    if row is None:
        return MallConsoleState(CapacityStatus.NORMAL, False, None, None)
    return MallConsoleState(
        CapacityStatus(row.capacity_status), row.is_paused, row.paused_by, row.paused_at
    )


async def is_paused(tx: Tx, mall_id: str) -> bool:
    result = await tx.execute(
        select(mall_states.c.is_paused).where(mall_states.c.mall_id == mall_id)
    )
    return bool(result.scalar_one_or_none())


async def set_paused(
    tx: Tx, mall_id: str, *, is_paused: bool, operator: str, now: datetime
) -> None:
    """Call after `state_for_update`, which creates and locks the mall's row."""
    await tx.execute(
        mall_states.update()
        .where(mall_states.c.mall_id == mall_id)
        .values(
            is_paused=is_paused,
            paused_at=now if is_paused else None,
            paused_by=operator if is_paused else None,
        )
    )
