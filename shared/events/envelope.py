"""The envelope every event travels in, and its orjson encoding.

A payload class names its type, version and topic; `shared` wraps it with an event id, time,
producer, partition key and trace id. Consumers look the payload class up by (type, version).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.logging import current_trace_id


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str]


P = TypeVar("P", bound=Payload)

_REGISTRY: dict[tuple[str, int], type[Payload]] = {}


def register(cls: type[P]) -> type[P]:
    """Class decorator: makes the payload decodable by consumers."""
    key = (cls.TYPE, cls.VERSION)
    if key in _REGISTRY and _REGISTRY[key] is not cls:
        raise ValueError(f"event {cls.TYPE} v{cls.VERSION} is registered twice")
    _REGISTRY[key] = cls
    return cls


def payload_class(event_type: str, version: int) -> type[Payload]:
    try:
        return _REGISTRY[(event_type, version)]
    except KeyError:
        raise UnknownEvent(event_type, version) from None


def registered_payloads() -> list[type[Payload]]:
    return list(_REGISTRY.values())


class UnknownEvent(ValueError):
    def __init__(self, event_type: str, version: int) -> None:
        super().__init__(f"no payload class for event {event_type} v{version}")


class Envelope(BaseModel, Generic[P]):
    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int
    occurred_at: AwareDatetime
    producer: str
    key: str
    trace_id: str
    # The producer's W3C trace context (`traceparent`) when tracing is on: stored with the
    # outbox row, so the relay publishes the event in the trace of the request that caused it.
    trace_context: dict[str, str] | None = None
    payload: P


def wrap(
    payload: P,
    *,
    key: str,
    producer: str,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
    trace_context: dict[str, str] | None = None,
) -> Envelope[P]:
    return Envelope[P](
        event_id=event_id or uuid.uuid4(),
        type=payload.TYPE,
        version=payload.VERSION,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        key=key,
        trace_id=current_trace_id(),
        trace_context=trace_context,
        payload=payload,
    )


def encode(envelope: Envelope[Any]) -> bytes:
    return orjson.dumps(envelope.model_dump(mode="json"))


def decode(raw: bytes) -> Envelope[Payload]:
    """Parses an envelope and its payload; raises ValueError on anything malformed."""
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("event is not a JSON object")
    cls = payload_class(str(data.get("type")), int(data.get("version", 0)))
    payload = cls.model_validate(data.get("payload"))
    return Envelope[Payload].model_validate({**data, "payload": payload})
