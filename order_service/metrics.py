"""The order service's business metrics, counted where their events happen (the use cases and
the webhook sender), beside the technical ones every service has (shared/metrics.py).

Counters count in this process: a handler retried after a failure may count once more, which a
rate over minutes does not notice.
"""

from __future__ import annotations

from prometheus_client import Counter

ORDERS = Counter(
    "orders",
    "Orders that reached a customer-visible status (placed, accepted, packaged, picked_up, "
    "delivered, cancelled, ...)",
    ["mall", "status"],
    registry=None,
)
PROMISE_MISSES = Counter(
    "order_promise_misses",
    "Orders delivered after the time promised at checkout",
    ["mall"],
    registry=None,
)
WEBHOOK_FAILURES = Counter(
    "webhook_failures",
    "Webhook deliveries to stores' POS that failed: will_retry, or gave_up after the last attempt",
    ["outcome"],
    registry=None,
)

COLLECTORS = (ORDERS, PROMISE_MISSES, WEBHOOK_FAILURES)
