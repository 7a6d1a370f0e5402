"""deploy/observability/: alert rules and a Grafana dashboard that parse, say what to do, and are
wired into docker-compose. (tests/e2e/test_observability.py checks their metrics exist.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.observability import (
    OBSERVABILITY,
    alert_rules,
    dashboard,
    expressions,
    named_metrics,
    panels,
    selected_metrics,
)

DEPLOY = OBSERVABILITY.parent
REQUIRED_ALERTS = {
    "OutboxStuck",
    "ConsumerLagGrowing",
    "DeadLetters",
    "PromiseMisses",
    "High5xxRate",
    "KafkaUnreachable",
}


def test_the_rules_alert_on_what_the_issue_names() -> None:
    assert {rule["alert"] for rule in alert_rules()} >= REQUIRED_ALERTS


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: str(rule["alert"]))
def test_each_alert_has_a_severity_and_says_what_to_do(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"page", "ticket"}
    assert rule["annotations"]["summary"]
    assert len(rule["annotations"]["description"]) > 40


@pytest.mark.parametrize("expression", expressions(), ids=lambda e: e.where)
def test_every_expression_is_valid_promql_and_selects_a_metric(expression: Any) -> None:
    assert selected_metrics(expression.promql)


def test_an_invalid_expression_is_caught() -> None:
    with pytest.raises(ValueError):
        selected_metrics("sum by (service (rate(x[5m]))")


def test_the_dashboard_shows_the_business_and_pipeline_metrics() -> None:
    shown = named_metrics()
    for metric in (
        "orders_total",
        "order_promise_misses_total",
        "dispatch_offers_total",
        "dispatch_offers_accepted_total",
        "dispatch_time_to_accept_seconds_bucket",
        "webhook_failures_total",
        "kafka_dead_letters_total",
        "outbox_oldest_unsent_age_seconds",
        "kafka_consumer_lag",
        "kafka_up",
    ):
        assert any(where.startswith("panel") for where in shown.get(metric, [])), metric


def test_the_dashboard_s_panels_use_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load(
        (OBSERVABILITY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    (datasource,) = provisioned["datasources"]
    board = dashboard()

    assert board["uid"] and board["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels():
        assert panel["datasource"]["uid"] == datasource["uid"]
        assert panel["targets"] and panel["description"]


def test_compose_runs_prometheus_with_the_rules_and_grafana_with_the_dashboard() -> None:
    services = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    mounted = {
        name: {
            volume.split(":")[1]: DEPLOY / volume.split(":")[0]
            for volume in services[name]["volumes"]
        }
        for name in ("prometheus", "grafana")
    }
    config_path = mounted["prometheus"]["/etc/prometheus/prometheus.yml"]
    config = yaml.safe_load(config_path.read_text())
    rules = mounted["prometheus"][config["rule_files"][0]]

    assert rules.resolve() == (OBSERVABILITY / "prometheus/alerts.yml").resolve()
    (job,) = config["scrape_configs"]
    assert sorted(job["static_configs"][0]["targets"]) == sorted(
        f"{name}:{port}"
        for name, port in {"catalog": 8001, "order": 8002, "dispatch": 8003, "driver": 8004}.items()
    )
    provisioning = mounted["grafana"]["/etc/grafana/provisioning"]
    providers = yaml.safe_load((provisioning / "dashboards/mall-to-home.yml").read_text())
    dashboards: Path = mounted["grafana"][providers["providers"][0]["options"]["path"]]
    assert (dashboards / "mall-to-home.json").exists()
