from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.dead_letters import DeadLetter, DlqError, Filters, parse_kafka_ref, parse_outbox_ref

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def a_letter(offset: int = 5, consumer: str = "order.events", at: datetime = AT) -> DeadLetter:
    return DeadLetter(
        topic="orders.dlq",
        partition=0,
        offset=offset,
        at=at,
        key=b"k",
        value=b"{}",
        headers=[
            ("event_type", b"order.placed"),
            ("dlq_consumer", consumer.encode()),
            ("dlq_original_topic", b"orders"),
        ],
    )


def test_filters_select_by_consumer_time_and_offset() -> None:
    letter = a_letter()

    assert Filters().admits(letter)
    assert Filters(consumer="order*").admits(letter)
    assert not Filters(consumer="dispatch*").admits(letter)
    assert Filters(since=AT, until=AT).admits(letter)
    assert not Filters(since=datetime(2026, 12, 2, tzinfo=UTC)).admits(letter)
    assert not Filters(until=datetime(2026, 11, 30, tzinfo=UTC)).admits(letter)
    assert Filters(offsets=(5, 5)).admits(letter)
    assert not Filters(offsets=(6, 9)).admits(letter)


def test_a_replay_keeps_the_original_headers_and_drops_the_dead_letter_ones() -> None:
    letter = a_letter()

    assert letter.original_topic == "orders"
    assert letter.original_headers == [("event_type", b"order.placed")]


def test_references_name_a_dead_letter_or_a_parked_row_and_anything_else_says_what_to_type() -> (
    None
):
    assert parse_kafka_ref("orders.dlq:0:17") == ("orders.dlq", 0, 17)
    assert parse_outbox_ref("outbox:order:42") == ("order", 42)
    with pytest.raises(DlqError, match=r"<topic>\.dlq:<partition>:<offset>"):
        parse_kafka_ref("orders:0:17")
    with pytest.raises(DlqError, match="outbox:<service>:<id>"):
        parse_outbox_ref("outbox:order")
