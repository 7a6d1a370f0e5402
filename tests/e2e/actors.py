"""The clients the suite serves (`services/clients/`, shared with the demo), and the test data the
end-to-end tests act on."""

from services.clients import (
    PROOF_PHOTO,
    Delivery,
    DriverApp,
    Json,
    Pos,
    Storefront,
    WebhookInbox,
    expect,
    stop_of,
)

FASHION_SHOW = "fashion-show-las-vegas"

__all__ = [
    "FASHION_SHOW",
    "PROOF_PHOTO",
    "Delivery",
    "DriverApp",
    "Json",
    "Pos",
    "Storefront",
    "WebhookInbox",
    "expect",
    "stop_of",
]
