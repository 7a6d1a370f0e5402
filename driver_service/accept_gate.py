"""Turn-taking for accepts of one offer inside this process, and the wins it committed.

The database decides who wins (a conditional update). The gate only spares the losers of a rush
their database transactions: accepts of one offer take turns here, and once a win has committed,
the drivers it was offered to are told it is taken from memory. Wins are facts that never
change, so answering from memory is safe; anything the gate does not know goes to the database,
which also keeps several instances correct.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from uuid import UUID


@dataclass(frozen=True)
class Win:
    route_id: UUID
    driver_id: UUID
    offered_to: frozenset[UUID]


@dataclass
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class AcceptGate:
    def __init__(self, remember: int = 10_000) -> None:
        self.remember = remember
        self._turns: dict[UUID, _Turn] = {}
        self._wins: OrderedDict[UUID, Win] = OrderedDict()

    @asynccontextmanager
    async def turn(self, offer_id: UUID) -> AsyncIterator[None]:
        entry = self._turns.setdefault(offer_id, _Turn())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._turns[offer_id]

    def is_lost_by(self, offer_id: UUID, driver_id: UUID) -> bool:
        win = self._wins.get(offer_id)
        return win is not None and win.driver_id != driver_id and driver_id in win.offered_to

    def record(self, offer_id: UUID, win: Win) -> None:
        """Call only after the winning transaction committed."""
        self._wins[offer_id] = win
        self._wins.move_to_end(offer_id)
        while len(self._wins) > self.remember:
            self._wins.popitem(last=False)
