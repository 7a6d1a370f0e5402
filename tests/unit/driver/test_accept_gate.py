from __future__ import annotations

import asyncio
import uuid

from driver_service.accept_gate import AcceptGate, Win

OFFER = uuid.uuid4()
WINNER, LOSER, STRANGER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def a_win() -> Win:
    return Win(route_id=uuid.uuid4(), driver_id=WINNER, offered_to=frozenset({WINNER, LOSER}))


def test_a_recorded_win_is_lost_only_for_the_other_drivers_it_was_offered_to() -> None:
    gate = AcceptGate()
    assert not gate.is_lost_by(OFFER, LOSER)

    gate.record(OFFER, a_win())

    assert gate.is_lost_by(OFFER, LOSER)
    # The winner retrying, and drivers it was never offered to, go to the database.
    assert not gate.is_lost_by(OFFER, WINNER)
    assert not gate.is_lost_by(OFFER, STRANGER)


def test_the_gate_forgets_its_oldest_wins_beyond_its_size() -> None:
    gate = AcceptGate(remember=2)
    offers = [uuid.uuid4() for _ in range(3)]

    for offer_id in offers:
        gate.record(offer_id, a_win())

    assert [gate.is_lost_by(o, LOSER) for o in offers] == [False, True, True]


async def test_accepts_of_one_offer_take_turns_and_leave_nothing_behind() -> None:
    gate = AcceptGate()
    inside = 0
    most_inside = 0

    async def accept() -> None:
        nonlocal inside, most_inside
        async with gate.turn(OFFER):
            inside += 1
            most_inside = max(most_inside, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(accept() for _ in range(20)))

    assert most_inside == 1
    assert gate._turns == {}
