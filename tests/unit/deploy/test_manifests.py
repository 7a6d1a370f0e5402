from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
SERVICES = {"catalog": 8001, "order": 8002, "dispatch": 8003, "driver": 8004}


def manifest_files() -> list[Path]:
    """Every file the kustomization applies."""
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    return [DEPLOY / "k8s" / name for name in kustomization["resources"]]


def documents() -> list[dict[str, Any]]:
    docs = [d for path in manifest_files() for d in yaml.safe_load_all(path.read_text())]
    return [d for d in docs if d]


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


def test_every_document_names_its_api_version_kind_and_namespace() -> None:
    for doc in documents():
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"]
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "mall-to-home"


def test_each_service_has_a_deployment_probed_on_readyz_and_healthz() -> None:
    deployments = of_kind("Deployment")
    assert set(deployments) == set(SERVICES)
    for name, port in SERVICES.items():
        spec = deployments[name]["spec"]
        assert (
            spec["selector"]["matchLabels"].items()
            <= spec["template"]["metadata"]["labels"].items()
        )
        (container,) = spec["template"]["spec"]["containers"]
        assert container["command"][-1] == f"{name}_service"
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": port}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert {"configMapRef": {"name": "mall-to-home"}} in container["envFrom"]


def test_each_service_is_exposed_on_its_port_and_selects_its_pods() -> None:
    services = of_kind("Service")
    deployments = of_kind("Deployment")
    for name, port in SERVICES.items():
        spec = services[name]["spec"]
        assert spec["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert spec["selector"].items() <= pod_labels.items()


def test_the_configmap_points_at_kafka_and_the_catalog() -> None:
    data = of_kind("ConfigMap")["mall-to-home"]["data"]
    assert data["KAFKA_BOOTSTRAP_SERVERS"].endswith(":9092")
    assert data["ORDER_CATALOG_URL"].startswith("http://catalog.")


def secret_env(container: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }


def test_the_catalog_and_the_order_service_share_one_internal_token_secret() -> None:
    containers = {
        name: d["spec"]["template"]["spec"]["containers"][0]
        for name, d in of_kind("Deployment").items()
    }
    shared = ("mall-to-home", "catalog-internal-token")

    assert secret_env(containers["catalog"])["CATALOG_INTERNAL_TOKEN"] == shared
    assert secret_env(containers["order"])["ORDER_CATALOG_INTERNAL_TOKEN"] == shared
    # The token opens store-naming endpoints: no other service is given it.
    for name in ("dispatch", "driver"):
        assert shared not in secret_env(containers[name]).values()


def test_the_compose_file_gives_catalog_and_order_the_same_internal_token() -> None:
    services = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    token = services["catalog"]["environment"]["CATALOG_INTERNAL_TOKEN"]

    assert "${CATALOG_INTERNAL_TOKEN" in token
    assert services["order"]["environment"]["ORDER_CATALOG_INTERNAL_TOKEN"] == token
    for name in ("dispatch", "driver"):
        assert not any("INTERNAL_TOKEN" in k for k in services[name]["environment"])


def test_the_compose_file_runs_kafka_postgres_and_the_four_services() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:4")
    assert services["postgres"]["image"].startswith("postgres:15")
    for name, port in SERVICES.items():
        assert services[name]["command"] == ["python", "-m", f"{name}_service"]
        assert services[name]["ports"] == [f"{port}:{port}"]
        assert services[name]["depends_on"]["kafka"]["condition"] == "service_healthy"
