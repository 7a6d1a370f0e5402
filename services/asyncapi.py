"""Generates the AsyncAPI 3.0 document and docs/events.md from the event models.

`python -m services.asyncapi` rewrites both; a test fails when the committed files differ from
what the models give, so the docs cannot drift from the contracts.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from shared.events import topics
from shared.events.envelope import Payload, registered_payloads

ROOT = Path(__file__).resolve().parent.parent
ASYNCAPI_PATH = ROOT / "docs" / "asyncapi.json"
EVENTS_MD_PATH = ROOT / "docs" / "events.md"

PRODUCERS = {
    "shared.events.catalog": "catalog",
    "shared.events.order": "order",
    "shared.events.dispatch": "dispatch",
    "shared.events.driver": "driver",
}
SERVICE_PACKAGES = {
    "catalog": "catalog_service",
    "order": "order_service",
    "dispatch": "dispatch_service",
    "driver": "driver_service",
}
KEYS = {
    topics.STORES: "store id",
    topics.INVENTORY: "store id",
    topics.ORDERS: "order id",
    topics.ROUTES: "mall id",
    topics.ZONES: "mall id",
    topics.DRIVER_ACTIVITY: "route id",
    topics.DRIVERS: "driver id",
}


def _payloads() -> list[type[Payload]]:
    return sorted(
        (p for p in registered_payloads() if p.__module__ in PRODUCERS),
        key=lambda p: (p.TOPIC, p.TYPE, p.VERSION),
    )


# Never connected to: the apps are built only to ask what they consume.
UNUSED_DB = "postgresql+asyncpg://docs@127.0.0.1:1/docs"


def _consumer_specs(service: str, package: str) -> list[Any]:
    """The service's consumer groups, from its app as `create_app` builds it (some build their
    handlers around parts of the app, so a module-level list would not show them)."""
    app_module = importlib.import_module(f"{package}.app")
    settings_module = importlib.import_module(f"{package}.settings")
    settings_class = getattr(settings_module, f"{service.capitalize()}Settings")
    app = app_module.create_app(settings_class(database_url=UNUSED_DB))
    specs: list[Any] = app.state.consumer_specs
    return specs


def _consumers() -> dict[str, list[str]]:
    """event type -> services that consume it, read from each service's app."""
    consumed: dict[str, list[str]] = {}
    for service, package in SERVICE_PACKAGES.items():
        for spec in _consumer_specs(service, package):
            for event_type in spec.handlers:
                consumed.setdefault(event_type, [])
                if service not in consumed[event_type]:
                    consumed[event_type].append(service)
    return consumed


def _message_name(payload: type[Payload]) -> str:
    return f"{payload.__name__}V{payload.VERSION}"


ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "event_id",
        "type",
        "version",
        "occurred_at",
        "producer",
        "key",
        "trace_id",
        "payload",
    ],
    "properties": {
        "event_id": {"type": "string", "format": "uuid"},
        "type": {"type": "string"},
        "version": {"type": "integer"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "producer": {"type": "string"},
        "key": {"type": "string", "description": "Kafka partition key"},
        "trace_id": {"type": "string"},
        "trace_context": {
            "type": ["object", "null"],
            "additionalProperties": {"type": "string"},
            "description": "W3C trace context of the producer (traceparent) when tracing is on",
        },
    },
}


def build_asyncapi() -> dict[str, Any]:
    consumers = _consumers()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for topic in topics.PARTITIONS:
        channels[topic] = {
            "address": topic,
            "description": f"Partitions: {topics.PARTITIONS[topic]}; key: {KEYS[topic]}. "
            f"Dead letters: {topics.dead_letter(topic)}.",
            "messages": {},
        }
    for payload in _payloads():
        name = _message_name(payload)
        schema = payload.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            schemas[def_name] = definition
        schemas[name] = schema
        producer = PRODUCERS[payload.__module__]
        messages[name] = {
            "name": payload.TYPE,
            "title": f"{payload.TYPE} v{payload.VERSION}",
            "summary": (payload.__doc__ or payload.TYPE).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "event_type": {"type": "string", "const": payload.TYPE},
                    "event_id": {"type": "string", "format": "uuid"},
                },
            },
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/Envelope"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": payload.TYPE},
                            "version": {"const": payload.VERSION},
                            "producer": {"const": producer},
                            "payload": {"$ref": f"#/components/schemas/{name}"},
                        },
                    },
                ]
            },
            "x-producer": producer,
            "x-consumers": consumers.get(payload.TYPE, []),
        }
        channels[payload.TOPIC]["messages"][name] = {"$ref": f"#/components/messages/{name}"}
        operations[f"{producer}.send.{payload.TYPE}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{payload.TOPIC}"},
            "messages": [{"$ref": f"#/channels/{payload.TOPIC}/messages/{name}"}],
        }
        for consumer in consumers.get(payload.TYPE, []):
            operations[f"{consumer}.receive.{payload.TYPE}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{payload.TOPIC}"},
                "messages": [{"$ref": f"#/channels/{payload.TOPIC}/messages/{name}"}],
            }
    schemas["Envelope"] = ENVELOPE_SCHEMA
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "mall-to-home events",
            "version": "1.0.0",
            "description": "Events the four services exchange over Kafka. Generated from the "
            "pydantic models in shared/events by `python -m services.asyncapi`.",
        },
        "servers": {
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "make up"}
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": dict(sorted(operations.items())),
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def build_events_md() -> str:
    consumers = _consumers()
    lines = [
        "# Events",
        "",
        "Generated from `shared/events/` by `python -m services.asyncapi` (a test keeps it in",
        "sync). The machine-readable form is [asyncapi.json](asyncapi.json) (AsyncAPI 3.0).",
        "",
        "Every event travels in an envelope: `event_id` (UUID, the consumers' inbox key), `type`,",
        "`version`, `occurred_at`, `producer`, `key` (the Kafka partition key), `trace_id`,",
        "`trace_context` (the producer's W3C `traceparent` when tracing is on, also in the Kafka",
        "headers), and `payload`. Producers write events to an outbox in the same transaction as",
        "the state change; a relay publishes them at least once, in commit order per key;",
        "consumers are idempotent. A message a consumer cannot handle after retries goes to",
        "`<topic>.dlq`.",
        "Adding an optional field keeps the version; any other change is a new version.",
        "",
        "| topic | partitions | key |",
        "|---|---|---|",
    ]
    for topic, partitions in topics.PARTITIONS.items():
        lines.append(f"| `{topic}` | {partitions} | {KEYS[topic]} |")
    lines.append("")
    for payload in _payloads():
        producer = PRODUCERS[payload.__module__]
        readers = ", ".join(consumers.get(payload.TYPE, [])) or "(none yet)"
        lines += [
            f"## `{payload.TYPE}` v{payload.VERSION}",
            "",
            f"Topic `{payload.TOPIC}`; produced by **{producer}**; consumed by {readers}.",
            "",
        ]
        if payload.__doc__:
            lines += [" ".join(payload.__doc__.split()), ""]
        lines += ["| field | type | required |", "|---|---|---|"]
        schema = payload.model_json_schema()
        required = set(schema.get("required", []))
        for field_name, prop in schema.get("properties", {}).items():
            is_required = "yes" if field_name in required else "no"
            lines.append(f"| `{field_name}` | {_type_of(prop)} | {is_required} |")
        lines.append("")
    return "\n".join(lines)


def _type_of(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " or ".join(_type_of(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list of {_type_of(prop.get('items', {}))}"
    kind = str(prop.get("type", "object"))
    return f"{kind} ({prop['format']})" if "format" in prop else kind


def render_asyncapi() -> str:
    return json.dumps(build_asyncapi(), indent=2, sort_keys=False) + "\n"


def main() -> int:
    ASYNCAPI_PATH.parent.mkdir(exist_ok=True)
    ASYNCAPI_PATH.write_text(render_asyncapi())
    EVENTS_MD_PATH.write_text(build_events_md())
    print(f"wrote {ASYNCAPI_PATH.relative_to(ROOT)} and {EVENTS_MD_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
