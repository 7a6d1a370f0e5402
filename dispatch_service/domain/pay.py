"""What a route pays: never less than its block at the advertised hourly floor."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class BlockType(StrEnum):
    SHORT = "short"
    STANDARD = "standard"
    LONG = "long"


# Blocks are sold in 5 minutes, from a quarter hour: same-day routes are short and drivers
# chain them, so an hour's minimum would pay most of a driver's hours twice over.
BLOCK_STEP_MINUTES = 5
MIN_BLOCK_MINUTES = 15
SHORT_BLOCK_MAX_MINUTES = 90
STANDARD_BLOCK_MAX_MINUTES = 180


@dataclass(frozen=True, slots=True)
class PayPolicy:
    hourly_cents: dict[BlockType, int]
    per_stop_cents: int
    per_mile_cents: int


@dataclass(frozen=True, slots=True)
class Quote:
    block_type: BlockType
    block_minutes: int
    hourly_floor_cents: int
    pay_cents: int


def block_minutes_for(planned_minutes: int) -> int:
    steps = math.ceil(max(planned_minutes, 1) / BLOCK_STEP_MINUTES)
    return max(MIN_BLOCK_MINUTES, steps * BLOCK_STEP_MINUTES)


def block_type_for(block_minutes: int) -> BlockType:
    if block_minutes <= SHORT_BLOCK_MAX_MINUTES:
        return BlockType.SHORT
    if block_minutes <= STANDARD_BLOCK_MAX_MINUTES:
        return BlockType.STANDARD
    return BlockType.LONG


def quote(policy: PayPolicy, *, planned_minutes: int, stop_count: int, miles: float) -> Quote:
    """max(block hours x the block type's hourly rate, per-stop + per-mile estimate)."""
    block_minutes = block_minutes_for(planned_minutes)
    block_type = block_type_for(block_minutes)
    hourly = policy.hourly_cents[block_type]
    by_block = math.ceil(hourly * block_minutes / 60)
    by_work = stop_count * policy.per_stop_cents + math.ceil(miles * policy.per_mile_cents)
    return Quote(
        block_type=block_type,
        block_minutes=block_minutes,
        hourly_floor_cents=hourly,
        pay_cents=max(by_block, by_work),
    )
