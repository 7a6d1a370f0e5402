"""Consumer runner: each message is handled in one DB transaction with an inbox row.

The Kafka offset is committed only after that transaction commits, so a crash between the two
redelivers the message, and the inbox (keyed by consumer and event id) turns the redelivery into
a no-op. The offset never moves past a record that was neither applied nor dead-lettered.

One worker task per partition handles that partition's records in order, from a queue the main
loop fills; the main loop keeps polling meanwhile, so the group keeps the member however slow a
handler is, and the other partitions go on. A full queue pauses its partition until the worker
catches up. A fetched record is never dropped: a worker that stops early seeks its partition
back to its first unhandled record. A rebalance first stops the workers of the revoked
partitions (after their record in hand, or after a grace period) and commits what they did.

Failures: a transient one (database restart or failover, dropped connection, serialization
failure, deadlock, Kafka) is retried with capped exponential backoff for as long as it lasts,
pausing only its partition (shown in `/metrics`). One that fails the same way every time
(undecodable, schema or business rule) goes to `<topic>.dlq` after a few attempts, with the
error and the original headers; publishing the dead letter is itself retried until Kafka takes
it. Nothing is dropped silently.
"""

from shared.consumer.base import ConsumerStats, Handler
from shared.consumer.runner import ConsumerRunner

__all__ = ["ConsumerRunner", "ConsumerStats", "Handler"]
