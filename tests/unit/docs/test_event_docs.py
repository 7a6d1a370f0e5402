from __future__ import annotations

from services.asyncapi import (
    ASYNCAPI_PATH,
    EVENTS_MD_PATH,
    build_asyncapi,
    build_events_md,
    render_asyncapi,
)
from shared.events.envelope import registered_payloads


def test_the_committed_asyncapi_document_matches_the_event_models() -> None:
    assert ASYNCAPI_PATH.read_text() == render_asyncapi(), (
        "docs/asyncapi.json is stale: run `.venv/bin/python -m services.asyncapi`"
    )


def test_the_committed_events_page_matches_the_event_models() -> None:
    assert EVENTS_MD_PATH.read_text() == build_events_md(), (
        "docs/events.md is stale: run `.venv/bin/python -m services.asyncapi`"
    )


def test_every_event_model_is_a_message_on_its_topic_channel() -> None:
    document = build_asyncapi()

    assert document["asyncapi"] == "3.0.0"
    for payload in registered_payloads():
        if not payload.__module__.startswith("shared.events."):
            continue
        name = f"{payload.__name__}V{payload.VERSION}"
        assert name in document["components"]["messages"]
        assert name in document["channels"][payload.TOPIC]["messages"]
        assert f"send.{payload.TYPE}" in " ".join(document["operations"])
