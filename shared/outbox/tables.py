"""The outbox's tables, and the inbox's, that every service's first migrations create."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    text,
)


def define_tables(metadata: MetaData) -> tuple[Table, Table, Table, Table]:
    """The outbox, its parked rows, the inbox and the consumers' effect log, added to a
    service's metadata for its migrations."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("event", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
        Index("ix_outbox_unsent_key", "key", "id", postgresql_where=text("sent_at IS NULL")),
    )
    # A row Kafka refused for good, with its outbox id, so a retry puts it back in its place.
    outbox_dead = Table(
        "outbox_dead",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("event", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("error", Text, nullable=False),
        Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_outbox_dead_key", "key"),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    # Written only with `consumer_effect_log` on (`make chaos`): one row per applied event, in
    # the handler's transaction, so an event applied twice shows twice whatever the inbox says.
    consumer_effects = Table(
        "consumer_effects",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("consumer", Text, nullable=False),
        Column("event_id", Uuid, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, outbox_dead, inbox, consumer_effects
