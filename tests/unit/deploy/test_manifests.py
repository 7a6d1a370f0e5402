from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from catalog_service.settings import CatalogSettings
from dispatch_service.settings import DispatchSettings
from driver_service.settings import DriverSettings
from order_service.settings import OrderSettings
from shared.settings import ServiceSettings

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


def test_the_console_sends_the_order_and_driver_services_their_own_operator_tokens() -> None:
    dispatch, order, driver = (secret_env(containers()[n]) for n in ("dispatch", "order", "driver"))
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]

    assert dispatch["DISPATCH_ORDER_OPERATOR_TOKEN"] == order["ORDER_OPERATOR_TOKEN"]
    assert dispatch["DISPATCH_DRIVER_OPERATOR_TOKEN"] == driver["DRIVER_OPERATOR_TOKEN"]
    sent = compose["dispatch"]["environment"]
    assert sent["DISPATCH_ORDER_OPERATOR_TOKEN"] == compose["order"]["environment"][
        "ORDER_OPERATOR_TOKEN"
    ]
    assert sent["DISPATCH_DRIVER_OPERATOR_TOKEN"] == compose["driver"]["environment"][
        "DRIVER_OPERATOR_TOKEN"
    ]


def test_the_compose_file_gives_catalog_and_order_the_same_internal_token() -> None:
    services = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    token = services["catalog"]["environment"]["CATALOG_INTERNAL_TOKEN"]

    assert token.startswith("${CATALOG_INTERNAL_TOKEN:?")
    assert services["order"]["environment"]["ORDER_CATALOG_INTERNAL_TOKEN"] == token
    for name in ("dispatch", "driver"):
        assert not any("INTERNAL_TOKEN" in k for k in services[name]["environment"])


# Names of variables that hold secrets, whatever the service.
SECRET_LIKE = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|DATABASE_URL|DSN")
SETTINGS: dict[str, type[ServiceSettings]] = {
    "catalog": CatalogSettings,
    "order": OrderSettings,
    "dispatch": DispatchSettings,
    "driver": DriverSettings,
}


def secret_variables(service: str) -> set[str]:
    """The service's settings that must come from a secret: its database URL and every secret
    whose default is written in the repository."""
    settings = SETTINGS[service]
    prefix = str(settings.model_config.get("env_prefix", ""))
    names = {f"{prefix}DATABASE_URL"}
    for name, info in settings.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("development_default"):
            names.add(f"{prefix}{name.upper()}")
    return names


def containers() -> dict[str, dict[str, Any]]:
    return {
        name: d["spec"]["template"]["spec"]["containers"][0]
        for name, d in of_kind("Deployment").items()
    }


def test_no_secret_like_variable_is_written_in_plain_text_in_the_manifests() -> None:
    for name, container in containers().items():
        for variable in container.get("env", []):
            if SECRET_LIKE.search(variable["name"]):
                assert "value" not in variable, f"{name}: {variable['name']} is in plain text"
                assert "secretKeyRef" in variable["valueFrom"], (name, variable["name"])
    for config in of_kind("ConfigMap").values():
        assert not [key for key in config["data"] if SECRET_LIKE.search(key)]


def test_every_secret_each_service_needs_comes_from_the_kubernetes_secret() -> None:
    for name, container in containers().items():
        from_secret = secret_env(container)
        for variable in sorted(secret_variables(name)):
            assert variable in from_secret, f"{name}: set {variable} from the Secret"
            assert from_secret[variable][0] == "mall-to-home"


def test_the_secret_template_names_every_key_the_manifests_read_with_placeholders_only() -> None:
    template = yaml.safe_load((DEPLOY / "k8s" / "secret.template.yaml").read_text())
    keys_read = {key for c in containers().values() for _, key in secret_env(c).values()}

    assert (template["kind"], template["metadata"]["name"]) == ("Secret", "mall-to-home")
    assert set(template["stringData"]) == keys_read
    for key, value in template["stringData"].items():
        assert value.startswith("<") and value.endswith(">"), f"{key} is not a placeholder"


def test_each_catalog_replica_names_its_consumer_group_after_its_pod() -> None:
    (replica,) = [e for e in containers()["catalog"]["env"] if e["name"] == "CATALOG_REPLICA_ID"]

    assert replica["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_the_compose_file_reads_every_secret_from_the_git_ignored_env_file() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    example = (DEPLOY / ".env.example").read_text()
    documented = {
        line.split("=", 1)[0] for line in example.splitlines() if line and line[0] != "#"
    }
    gitignore = (DEPLOY.parent / ".gitignore").read_text().splitlines()

    for name, service in compose["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            if not SECRET_LIKE.search(variable):
                continue
            referenced = set(re.findall(r"\$\{(\w+):\?", str(value)))
            assert referenced, f"{name}: {variable} must come from deploy/.env"
            assert "postgres:postgres@" not in str(value)
            assert referenced <= documented, f"document {referenced - documented} in .env.example"
        if name in SETTINGS:
            assert secret_variables(name) <= set(service["environment"]), name
    # The example holds no values, only names: a copy left unfilled stops compose by name.
    assert all(line.endswith("=") for line in example.splitlines() if line and line[0] != "#")
    assert "deploy/.env" in gitignore


def test_the_compose_file_runs_kafka_postgres_and_the_four_services() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:4")
    assert services["postgres"]["image"].startswith("postgres:15")
    for name, port in SERVICES.items():
        assert services[name]["command"] == ["python", "-m", f"{name}_service"]
        assert services[name]["ports"] == [f"{port}:{port}"]
        assert services[name]["depends_on"]["kafka"]["condition"] == "service_healthy"
