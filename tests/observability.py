"""What deploy/observability/ asks of the services: its PromQL expressions and the metric names
they select, for the tests that check each against the services' /metrics."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import yaml

OBSERVABILITY = Path(__file__).resolve().parent.parent / "deploy" / "observability"
ALERTS = OBSERVABILITY / "prometheus" / "alerts.yml"
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "mall-to-home.json"
# Grafana's template query `label_values(metric, label)` is not PromQL, but names a metric too.
LABEL_VALUES = re.compile(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,")


@dataclass(frozen=True)
class Expression:
    where: str
    promql: str


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def expressions() -> list[Expression]:
    found = [Expression(f"alert {r['alert']}", r["expr"]) for r in alert_rules()]
    for panel in panels():
        found += [Expression(f"panel {panel['title']!r}", t["expr"]) for t in panel["targets"]]
    return found


def selected_metrics(promql: str) -> set[str]:
    """The metric names an expression selects; raises if it is not valid PromQL."""
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(promql), visit)
    return names


def named_metrics() -> dict[str, list[str]]:
    """Every metric the rules, the panels and the dashboard's variables name -> where."""
    named: dict[str, list[str]] = {}
    for expression in expressions():
        for name in selected_metrics(expression.promql):
            named.setdefault(name, []).append(expression.where)
    for variable in dashboard()["templating"]["list"]:
        for name in LABEL_VALUES.findall(variable.get("definition", "")):
            named.setdefault(name, []).append(f"variable {variable['name']}")
    return named
