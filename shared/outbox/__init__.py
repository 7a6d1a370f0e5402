"""Transactional outbox: events are rows written in the same transaction as the state change.

Ordering per partition key is the hard part. Writers of one key serialise on an advisory lock
(class 1) held to commit, and take their row id after it, so per key id order is commit order.
A relay claims whole keys with a second advisory lock (class 2) and publishes a key's rows in id
order; a relay that dies drops its locks with its connection, so nothing stays stuck. A plain
`FOR UPDATE SKIP LOCKED` over rows would let two relays publish one key's rows out of order, and
a global id cursor would skip rows that commit late.

Each pass is bounded: a prefix of each claimed key's rows, at most `rows_per_pass` in all, sent
pipelined and acknowledged one by one. Whatever Kafka acknowledged within the send window is
marked sent even when a later send fails, so a backlog after an outage drains pass by pass at
full speed. A key stops at its first row not acknowledged; a row Kafka refuses for good (too
large, a topic that does not exist) moves to `outbox_dead` with the error and blocks only its
own key until an operator retries or discards it (`python -m services dlq`).

Publishing is at least once: a relay may publish a row again after a crash or a timeout, and
consumers' inbox makes that harmless. Sends still unacknowledged when a pass ends are waited for
before the next pass, so an outage never piles copies of the same rows into the producer.
"""

from shared.outbox.dead import DeadRow, dead_count, dead_rows, discard_dead, requeue_dead
from shared.outbox.relay import OutboxRelay
from shared.outbox.sends import PERMANENT_SEND_ERRORS
from shared.outbox.tables import define_tables
from shared.outbox.writer import NOTIFY_CHANNEL, add, add_many, backlog, set_producer_name, unsent

__all__ = [
    "NOTIFY_CHANNEL",
    "PERMANENT_SEND_ERRORS",
    "DeadRow",
    "OutboxRelay",
    "add",
    "add_many",
    "backlog",
    "dead_count",
    "dead_rows",
    "define_tables",
    "discard_dead",
    "requeue_dead",
    "set_producer_name",
    "unsent",
]
