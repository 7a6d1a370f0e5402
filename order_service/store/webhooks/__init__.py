"""The outgoing webhook queue (stores' POS and the storefront alike), its attempts, and the
storefront's endpoints with their signing secrets. The use cases call `webhooks.<name>`, so
each is re-exported here.
"""

from order_service.store.webhooks.deliveries import (
    AttemptRow,
    DeliveryRow,
    attempts_of,
    endpoint_deliveries,
    endpoint_delivery,
    fail_pending_of,
    failed_of_endpoint,
    requeue,
)
from order_service.store.webhooks.endpoints import (
    EndpointRow,
    add_endpoint,
    disable_endpoint,
    endpoint,
    endpoint_target,
    endpoints,
    rotate_secret,
    subscribed_endpoints,
)
from order_service.store.webhooks.queue import (
    DeliveryStatus,
    DueDelivery,
    Recipient,
    RecipientKind,
    claim_due,
    due_recipients,
    enqueue,
    record_attempt,
)

__all__ = [
    "AttemptRow",
    "DeliveryRow",
    "DeliveryStatus",
    "DueDelivery",
    "EndpointRow",
    "Recipient",
    "RecipientKind",
    "add_endpoint",
    "attempts_of",
    "claim_due",
    "disable_endpoint",
    "due_recipients",
    "endpoint",
    "endpoint_deliveries",
    "endpoint_delivery",
    "endpoint_target",
    "endpoints",
    "enqueue",
    "fail_pending_of",
    "failed_of_endpoint",
    "record_attempt",
    "requeue",
    "rotate_secret",
    "subscribed_endpoints",
]
