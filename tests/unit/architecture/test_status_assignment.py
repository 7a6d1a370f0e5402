"""Only domain objects change a status: code outside `domain/` that assigns a status field
(`x.status = ...`, `replace(x, status=...)`, `x.model_copy(update={"status": ...})`) fails."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("order_service", "dispatch_service", "driver_service", "catalog_service")


def _is_status(name: str) -> bool:
    return name == "status" or name.endswith("_status")


def status_assignments(source: str) -> list[int]:
    """Line numbers where the source assigns a status field."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Attribute) and _is_status(leaf.attr):
                    found.append(target.lineno)
        if isinstance(node, ast.Call):
            called = node.func
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            if name == "replace" and any(_is_status(k.arg or "") for k in node.keywords):
                found.append(node.lineno)
            if name == "model_copy":
                for keyword in node.keywords:
                    if keyword.arg == "update" and isinstance(keyword.value, ast.Dict):
                        keys = [k.value for k in keyword.value.keys if isinstance(k, ast.Constant)]
                        if any(isinstance(k, str) and _is_status(k) for k in keys):
                            found.append(node.lineno)
    return sorted(set(found))


def test_no_code_outside_domain_assigns_a_status() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for service in SERVICES
        for path in sorted((ROOT / service).rglob("*.py"))
        if "domain" not in path.relative_to(ROOT).parts
        for line in status_assignments(path.read_text())
    ]

    assert offenders == [], "status changed outside domain/: " + ", ".join(offenders)


def test_the_check_sees_each_form_of_assignment() -> None:
    source = (
        "shipment.status = transition(shipment.status, wanted)\n"
        "order.capacity_status: str = 'x'\n"
        "route = replace(route, status=RouteStatus.ASSIGNED)\n"
        "stop = stop.model_copy(update={'status': 'done'})\n"
        "if route.status == RouteStatus.ASSIGNED: pass\n"
        "view = View(status=route.status.value)\n"
    )

    assert status_assignments(source) == [1, 2, 3, 4]
