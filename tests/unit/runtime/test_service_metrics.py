"""The metrics every service serves beside its business ones."""

from __future__ import annotations

from prometheus_client import Counter

from shared.metrics import ServiceMetrics
from tests.support import metric_names, metric_value


def test_dead_letters_are_each_consumer_s_own_count() -> None:
    counts = {"order.events": 3, "order.catalog": 0}
    metrics = ServiceMetrics("order", dead_letters=lambda: counts.items())

    first = metrics.render().decode()
    counts["order.events"] = 4
    second = metrics.render().decode()

    assert metric_value(first, "kafka_dead_letters_total", consumer="order.events") == 3
    assert metric_value(first, "kafka_dead_letters_total", consumer="order.catalog") == 0
    assert metric_value(second, "kafka_dead_letters_total", service="order") == 4


def test_a_service_s_business_metrics_are_served_with_the_shared_ones() -> None:
    sold = Counter("things_sold", "Things sold", registry=None)
    sold.inc(2)

    rendered = ServiceMetrics("shop", business=[sold]).render().decode()

    assert metric_value(rendered, "things_sold_total") == 2
    assert {
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "kafka_consumer_lag",
        "outbox_backlog",
        "outbox_oldest_unsent_age_seconds",
        "kafka_up",
        "kafka_dead_letters_total",
    } <= metric_names(rendered)


def test_two_apps_in_one_process_can_serve_the_same_business_metrics() -> None:
    sold = Counter("things_sold", "Things sold", registry=None)

    ServiceMetrics("shop", business=[sold])
    ServiceMetrics("shop", business=[sold])
