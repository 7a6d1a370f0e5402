"""After the chaos: wait for the backbone to drain, then reconcile from the databases and topics.

Nothing here trusts the traffic's own bookkeeping. The sources are the four services' databases
(outbox rows kept for the run, `outbox_dead`, inbox, the effect log each consumer writes in its
handler's transaction, orders, stock, routes) and every record on the run's topics.

- lost: an event committed to an outbox that is not on its topic, or that a consumer group
  handling its type never applied (no inbox row);
- duplicate_effects: an event whose handler took effect twice in one group (effect log rows);
- inversions: an event a group applied after a later event of the same producer, topic and key;
- double_assigned: a shipment on two live routes at once (accepted by two drivers, or on two
  assigned dispatch routes);
- stock_drift: a (store, SKU) whose count plus what was sold is not what was loaded (no
  restocks run), or whose reservations are not the open orders' lines;
- stuck: an order not in a terminal state that its last event does not explain (the next step
  belongs to someone the run's events already reached, yet it did not happen).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence

from services.chaos.drain import topic_event_ids
from services.chaos.evidence import OutboxRow, Reconciliation, expected_groups, fetch
from services.chaos.states import count_double_assigned, count_stock_drift, count_stuck
from services.suite import SERVICES, Suite


async def reconcile(suite: Suite, bootstrap: str) -> Reconciliation:
    suffix = suite.topic_suffix
    urls = {service.name: suite.database_url(service) for service in SERVICES}
    result = Reconciliation()
    outbox_rows: list[OutboxRow] = []
    inbox: set[tuple[str, uuid.UUID]] = set()
    effects: list[tuple[str, uuid.UUID]] = []
    parked = 0
    for name, url in urls.items():
        for r in await fetch(
            url,
            "SELECT id, event_id, topic, key, event_type, sent_at IS NOT NULL AS sent FROM outbox",
        ):
            outbox_rows.append(
                OutboxRow(
                    name, r["id"], r["event_id"], r["topic"], r["key"], r["event_type"], r["sent"]
                )
            )
        for r in await fetch(url, "SELECT event_id, topic, event_type FROM outbox_dead"):
            parked += 1
            result.details.append(f"parked outbox row of {name}: {r['event_type']} {r['event_id']}")
        inbox |= {(r["consumer"], r["event_id"]) for r in await fetch(url, "SELECT * FROM inbox")}
        effects += [
            (r["consumer"], r["event_id"])
            for r in await fetch(url, "SELECT consumer, event_id FROM consumer_effects ORDER BY id")
        ]
    on_topics, dead_letters = await topic_event_ids(bootstrap, suffix)
    result.events = len(outbox_rows) + parked
    result.applied = len(effects)

    result.lost = parked + count_lost(
        outbox_rows, inbox, on_topics, expected_groups(suffix), result
    )
    if dead_letters:
        result.details.append(f"{dead_letters} records on the dead-letter topics")
    result.duplicate_effects = count_duplicates(effects, result)
    result.inversions = count_inversions(outbox_rows, effects, result)
    result.double_assigned = await count_double_assigned(urls, result)
    result.stock_drift = await count_stock_drift(urls, result)
    result.stuck = await count_stuck(urls, result)
    return result


def count_lost(
    rows: Sequence[OutboxRow],
    inbox: set[tuple[str, uuid.UUID]],
    on_topics: set[str],
    wanted: dict[str, set[str]],
    result: Reconciliation,
) -> int:
    lost = 0
    why: Counter[str] = Counter()
    for row in rows:
        missing = [
            g for g in sorted(wanted.get(row.event_type, ())) if (g, row.event_id) not in inbox
        ]
        if str(row.event_id) not in on_topics:
            why[f"{row.event_type} never reached its topic (sent={row.is_sent})"] += 1
            lost += 1
        elif missing:
            for group in missing:
                why[f"{row.event_type} not applied by {group}"] += 1
            lost += 1
    result.details += [f"lost: {what} x{n}" for what, n in why.most_common(10)]
    return lost


def count_duplicates(effects: Iterable[tuple[str, uuid.UUID]], result: Reconciliation) -> int:
    counts = Counter(effects)
    twice = {pair: n for pair, n in counts.items() if n > 1}
    result.details += [f"applied {n} times: {g} {e}" for (g, e), n in list(twice.items())[:10]]
    return sum(n - 1 for n in twice.values())


def count_inversions(
    rows: Sequence[OutboxRow], effects: Sequence[tuple[str, uuid.UUID]], result: Reconciliation
) -> int:
    """Per group, in the order it applied them: an event of (producer, topic, key) with an outbox
    id below one applied before it was applied out of order."""
    by_event = {row.event_id: row for row in rows}
    highest: dict[tuple[str, str, str, str], int] = {}
    inversions = 0
    for group, event_id in effects:
        row = by_event.get(event_id)
        if row is None:
            continue
        key = (group, row.producer, row.topic, row.key)
        before = highest.get(key, -1)
        if row.id < before:
            inversions += 1
            if inversions <= 10:
                result.details.append(
                    f"inversion: {group} applied {row.event_type} #{row.id} after #{before}"
                    f" ({row.producer} {row.topic} key {row.key})"
                )
        highest[key] = max(before, row.id)
    return inversions
