"""Every metric the alert rules and the dashboard name is one the running services serve."""

from __future__ import annotations

import httpx

from services.suite import Suite
from tests.observability import named_metrics
from tests.support import metric_names


async def test_every_metric_the_rules_and_dashboard_name_is_on_some_service_s_metrics(
    suite: Suite, http: httpx.AsyncClient
) -> None:
    served: dict[str, set[str]] = {}
    for name, url in suite.urls.items():
        response = await http.get(f"{url}/metrics")
        assert response.status_code == 200
        served[name] = metric_names(response.text)
    everywhere = set().union(*served.values())

    missing = {
        metric: where for metric, where in named_metrics().items() if metric not in everywhere
    }

    assert missing == {}, f"named in deploy/observability/ but served by no service: {missing}"
    # Each service serves the pipeline's metrics its alerts watch.
    for name, metrics in served.items():
        assert {"kafka_up", "outbox_oldest_unsent_age_seconds", "kafka_dead_letters_total"} <= (
            metrics
        ), name
