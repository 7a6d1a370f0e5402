"""deploy/k8s for production: valid against the Kubernetes schemas (offline), autoscaled and
protected per service, started under a startupProbe, non-root on a read-only root file system,
ready on the database alone, and exposing exactly the public APIs through the Ingress."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from catalog_service.app import create_app as catalog_app
from catalog_service.settings import CatalogSettings
from dispatch_service.app import create_app as dispatch_app
from dispatch_service.settings import DispatchSettings
from driver_service.app import create_app as driver_app
from driver_service.settings import DriverSettings
from order_service.app import create_app as order_app
from order_service.settings import OrderSettings
from shared.settings import ServiceSettings
from tests.unit.deploy.test_manifests import (
    DEPLOY,
    SERVICES,
    documents,
    manifest_files,
    of_kind,
)

# The oldest minor release managed clusters still run, and the newest the validator knows.
KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
A_URL = "postgresql+asyncpg://u@db/x"
SETTINGS: dict[str, type[ServiceSettings]] = {
    "catalog": CatalogSettings,
    "order": OrderSettings,
    "dispatch": DispatchSettings,
    "driver": DriverSettings,
}
APPS = {"catalog": catalog_app, "order": order_app, "dispatch": dispatch_app, "driver": driver_app}
# OpenAPI tags of what stays inside the cluster.
# Not on the public Ingress: store-naming internals, probes and metrics, the operator console.
PRIVATE_TAGS = {"internal", "operations", "console"}


def doc_id(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def containers() -> dict[str, dict[str, Any]]:
    return {
        name: d["spec"]["template"]["spec"]["containers"][0]
        for name, d in of_kind("Deployment").items()
    }


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("doc", documents(), ids=doc_id)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(
    doc: dict[str, Any], version: str
) -> None:
    # Strict: an unknown field (a typo) is an error, as `kubectl apply` would make it.
    kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_catches_a_misspelt_field_offline() -> None:
    broken = copy.deepcopy(of_kind("Deployment")["order"])
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


def test_each_service_has_an_autoscaler_and_a_disruption_budget() -> None:
    autoscalers, budgets = of_kind("HorizontalPodAutoscaler"), of_kind("PodDisruptionBudget")
    deployments = of_kind("Deployment")

    assert set(autoscalers) == set(budgets) == set(SERVICES)
    for name in SERVICES:
        hpa, pdb = autoscalers[name]["spec"], budgets[name]["spec"]
        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["scaleTargetRef"] == target
        assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
        assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
        # A drain never takes the last pod, and never blocks forever either.
        assert 1 <= pdb["minAvailable"] < hpa["minReplicas"]
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert pdb["selector"]["matchLabels"].items() <= pod_labels.items()
        # The autoscaler owns the count: a fixed one would be reset on every apply.
        assert "replicas" not in deployments[name]["spec"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_starts_under_a_startup_probe_and_is_ready_on_readyz(name: str) -> None:
    container = containers()[name]
    startup = container["startupProbe"]

    assert startup["httpGet"] == {"path": "/healthz", "port": "http"}
    # Migrations run before the server listens: minutes, not liveness's seconds.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
    assert "initialDelaySeconds" not in container["livenessProbe"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_runs_as_non_root_on_a_read_only_root_file_system(name: str) -> None:
    pod = of_kind("Deployment")[name]["spec"]["template"]["spec"]
    container = containers()[name]

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    requests = container["resources"]["requests"]
    assert requests["cpu"] and requests["memory"]
    assert container["resources"]["limits"]["memory"]


def test_the_image_runs_as_the_numeric_user_the_pods_require() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    users = re.findall(r"^USER (\d+)(?::\d+)?$", dockerfile, re.MULTILINE)
    run_as = {
        d["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
        for d in of_kind("Deployment").values()
    }

    assert users and run_as == {int(users[-1])}
    # pyproject.toml names LICENSE as a license file: the build needs it.
    assert re.search(r"^COPY .*\bLICENSE\b", dockerfile, re.MULTILINE)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_the_config_map_s_log_level_is_the_level_each_service_runs_at(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = of_kind("ConfigMap")["mall-to-home"]["data"]
    for variable in list(os.environ):
        if variable.endswith("LOG_LEVEL"):
            monkeypatch.delenv(variable)
    for variable, value in data.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")  # not the default, so the test can tell

    assert SETTINGS[name](database_url=A_URL).log_level == "WARNING"
    assert data["LOG_LEVEL"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


# ---------------------------------------------------------------- the Ingress


def ingress_rules() -> list[tuple[str, str, str]]:
    """(pathType, path, service) of every rule of every Ingress."""
    return [
        (p["pathType"], p["path"], p["backend"]["service"]["name"])
        for ingress in of_kind("Ingress").values()
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    ]


def routed_to(path: str, rules: list[tuple[str, str, str]]) -> str | None:
    """Kubernetes' matching: Exact beats Prefix; the longest prefix, by whole path elements."""
    exact = [svc for kind, rule, svc in rules if kind == "Exact" and rule == path]
    if exact:
        return exact[0]
    elements = path.strip("/").split("/")
    prefixes = [
        (len(rule_elements), svc)
        for kind, rule, svc in rules
        if kind == "Prefix"
        and elements[: len(rule_elements := rule.strip("/").split("/"))] == rule_elements
    ]
    return max(prefixes)[1] if prefixes else None


def api_paths() -> list[tuple[str, str, bool]]:
    """(service, a concrete path, is public) for every path of the four OpenAPI documents."""
    found = []
    for name, create in APPS.items():
        app = create(SETTINGS[name](database_url=A_URL))  # type: ignore[operator]
        for path, operations in app.openapi()["paths"].items():
            tags = {t for op in operations.values() for t in op.get("tags", [])}
            found.append((name, re.sub(r"\{[^}]+\}", "x1", path), not tags & PRIVATE_TAGS))
    return found


def test_the_ingress_routes_every_public_path_to_its_service_and_no_private_one() -> None:
    rules = ingress_rules()
    routed = [(svc, path, routed_to(path, rules), public) for svc, path, public in api_paths()]
    public = [(svc, path, to) for svc, path, to, is_public in routed if is_public]
    private = [(svc, path, to) for svc, path, to, is_public in routed if not is_public]

    assert len(public) > 20 and ("catalog", "/v1/stores", None) in private
    assert [(svc, path, to) for svc, path, to in public if to != svc] == []
    # A private path may share a prefix with another service's public one (the catalog's
    # /v1/offers/{id} and the driver app's /v1/offers): it must never reach its own service.
    assert [(svc, path) for svc, path, to in private if to == svc] == []
    assert routed_to("/metrics", rules) is None and routed_to("/readyz", rules) is None


def test_the_ingress_names_only_services_that_exist() -> None:
    services = of_kind("Service")
    for _, _, svc in ingress_rules():
        assert svc in services


def test_the_kustomization_applies_every_manifest_in_the_folder() -> None:
    listed = {path.name for path in manifest_files()}
    # A `*.template.yaml` is filled in by hand (a Secret, say) and applied on its own.
    on_disk = {
        p.name
        for p in Path(DEPLOY / "k8s").glob("*.yaml")
        if p.name != "kustomization.yaml" and not p.name.endswith(".template.yaml")
    }

    assert listed == on_disk


def test_the_deploy_guide_s_topic_table_is_the_suite_s() -> None:
    from shared.events.topics import PARTITIONS

    guide = (DEPLOY.parent / "docs" / "deploy.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| (\d+) \|", guide, re.MULTILINE))

    assert {topic: int(count) for topic, count in rows.items()} == PARTITIONS


def test_the_deploy_guide_s_replica_bounds_are_the_autoscalers() -> None:
    guide = (DEPLOY.parent / "docs" / "deploy.md").read_text()
    rows = dict(re.findall(r"^\| (catalog|order|dispatch|driver) \| (\d+ to \d+) \|", guide, re.M))

    for name, hpa in of_kind("HorizontalPodAutoscaler").items():
        assert rows[name] == f"{hpa['spec']['minReplicas']} to {hpa['spec']['maxReplicas']}"
