"""Dispatch's business metrics, counted where their events happen (the use cases), beside the
technical ones every service has (shared/metrics.py)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

OFFERS = Counter(
    "dispatch_offers",
    "Offer rounds sent: a route offered to one or more drivers at one pay",
    ["mall"],
    registry=None,
)
OFFERS_ACCEPTED = Counter(
    "dispatch_offers_accepted",
    "Routes a driver accepted and dispatch assigned",
    ["mall"],
    registry=None,
)
TIME_TO_ACCEPT = Histogram(
    "dispatch_time_to_accept_seconds",
    "From a route's first offer to the accept that won it, in the suite's clock's seconds",
    ["mall"],
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
    registry=None,
)

COLLECTORS = (OFFERS, OFFERS_ACCEPTED, TIME_TO_ACCEPT)
