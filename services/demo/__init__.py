"""`make demo`: a simulated same-day at the four pilot malls, against a private copy of the suite.

It starts the four services (own databases, topics and ports) on a compressed clock, seeds the
catalog, and plays customers (browse, ask for a quote, pick a delivery window: about a third want
this evening's slot, the rest as soon as possible, and take the next window when their first
choice is full; check out, follow their order), a POS per store (pull new orders, accept, pack,
report packaged with labels over signed webhooks) and drivers (go online, long-poll offers,
accept, drive the route at the travel model's speed, wait for a drop-off's window to open, scan
labels, deliver with photo, position and PIN). Every customer-facing response goes through the
leak scanner. At the end: a table per mall, pictures in the output folder, and the SUMMARY line,
last.
"""

from services.demo.day import Demo
from services.demo.options import Options, parse_options, suite_env
from services.demo.records import DrivenRoute, DriverRecord, PlacedOrder
from services.demo.results import collect, offer_accept_seconds, order_outcome, ready_at
from services.demo.run import main, play
from services.demo.shoppers import Choice, choose_window

__all__ = [
    "Choice",
    "Demo",
    "DrivenRoute",
    "DriverRecord",
    "Options",
    "PlacedOrder",
    "choose_window",
    "collect",
    "main",
    "offer_accept_seconds",
    "order_outcome",
    "parse_options",
    "play",
    "ready_at",
    "suite_env",
]
