"""The suite's clients, each speaking only HTTP: a storefront, a store's POS, a driver app and the
operator; the demo, the chaos run, the benchmarks and the end-to-end tests all use these.

Where both are needed a call comes in two forms: one returns the response as it came (the demo and
chaos count refusals and go on), the other asserts the status with `expect` and returns the body
(the tests). The storefront shows every response it receives to the leak scanner, so no
customer-facing byte goes unchecked.
"""

from services.clients.common import PROOF_PHOTO, Json, expect, problem_code
from services.clients.driver import DriverApp, stop_of
from services.clients.operator import Operator, console_token
from services.clients.pos import Delivery, Pos, WebhookInbox
from services.clients.storefront import Storefront, seeded_scanner, store_identifiers

__all__ = [
    "PROOF_PHOTO",
    "Delivery",
    "DriverApp",
    "Json",
    "Operator",
    "Pos",
    "Storefront",
    "WebhookInbox",
    "console_token",
    "expect",
    "problem_code",
    "seeded_scanner",
    "stop_of",
    "store_identifiers",
]
