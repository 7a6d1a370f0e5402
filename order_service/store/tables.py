from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)

from shared.tables import service_metadata

metadata = service_metadata()

# The store directory, copied from catalog's store.upserted (or seeded by an offer resolution).
stores = Table(
    "stores",
    metadata,
    Column("store_id", Text, primary_key=True),
    Column("retailer_id", Text, nullable=False, server_default=""),
    Column("mall_id", Text, nullable=False),
    Column("mall_name", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("timezone", Text, nullable=False, server_default=""),
    Column("pickup_instructions", Text, nullable=False, server_default=""),
    Column("prep_minutes", Integer, nullable=False, server_default="0"),
    Column("is_active", Boolean, nullable=False, server_default="true"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

stock = Table(
    "stock",
    metadata,
    Column("store_id", Text, primary_key=True),
    Column("sku", Text, primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("reserved", Integer, nullable=False, server_default="0"),
    # The retailer's count time; None for a count seeded from an offer resolution.
    Column("as_of", DateTime(timezone=True)),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("mall_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("deliver_by", DateTime(timezone=True), nullable=False),
    Column("currency", Text, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("address", JSON, nullable=False),
    Column("dropoff_lat", Float, nullable=False),
    Column("dropoff_lng", Float, nullable=False),
    Column("contact_name", Text, nullable=False),
    Column("contact_phone", Text, nullable=False),
    Column("pin", Text),
    Column("pin_sha256", Text),
    Column("driver_id", Uuid),
    Column("route_id", Uuid),
    Column("is_at_risk", Boolean, nullable=False, server_default="false"),
    Column("delivered_at", DateTime(timezone=True)),
    Column("tip_cents", Integer, nullable=False, server_default="0"),
    Column("tipped_at", DateTime(timezone=True)),
    # The shopper's tracking page key; NULL only for orders placed before tracking pages.
    Column("tracking_token", Text),
    # The delivery window is [window_starts_at, deliver_by]; NULL: from created_at.
    Column("window_starts_at", DateTime(timezone=True)),
    Column("delivery_fee_cents", Integer, nullable=False, server_default="0"),
    # The checkout's W3C trace context when tracing is on: the order's later events continue it.
    Column("trace_context", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_orders_customer_id", "customer_id"),
    Index("ix_orders_tracking_token", "tracking_token", unique=True),
    # Open orders of a mall by promise: what a quote weighs against the fleet's capacity.
    Index(
        "ix_orders_open_by_mall",
        "mall_id",
        "deliver_by",
        postgresql_where=(
            "status NOT IN ('delivered', 'cancelled', 'returned_to_store', 'delivery_failed',"
            " 'returning')"
        ),
    ),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False),
    Column("store_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("package_count", Integer),
    Column("labels", JSON, nullable=False, server_default="[]"),
    Column("ready_at", DateTime(timezone=True)),
    Column("missing_labels", JSON, nullable=False, server_default="[]"),
    # sku -> quantity that left the shelf at packing: what a restock puts back.
    Column("packed", JSON, nullable=False, server_default="{}"),
    Column("restocked_at", DateTime(timezone=True)),
    Column("dropoff_eta", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("proof_photo_sha256", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_shipments_order_id", "order_id"),
    Index("ix_shipments_store_id_status", "store_id", "status"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False),
    Column("shipment_id", Uuid, ForeignKey("shipments.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("offer_id", Text, nullable=False),
    Column("sku", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_cents", BigInteger, nullable=False),
    Column("is_cancelled", Boolean, nullable=False, server_default="false"),
    Index("ix_order_lines_order_id", "order_id"),
    Index("ix_order_lines_shipment_id", "shipment_id"),
)

# Customer-safe history: never a store, never a shipment count.
order_timeline = Table(
    "order_timeline",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_order_timeline_order_id", "order_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("request_sha256", Text, nullable=False),
    Column("order_id", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

pos_credentials = Table(
    "pos_credentials",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("store_id", Text, nullable=False),
    Column("api_key_sha256", Text, nullable=False),
    # Kept as issued: verifying and signing HMACs needs the secret itself.
    Column("webhook_secret", Text, nullable=False),
    # Kept with the credentials so a store can be provisioned before its directory entry lands.
    Column("webhook_url", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    UniqueConstraint("api_key_sha256"),
    Index("ix_pos_credentials_store_id", "store_id"),
)

# Inbound webhook ids already applied, per store: a replay is refused.
retailer_webhook_ids = Table(
    "retailer_webhook_ids",
    metadata,
    Column("store_id", Text, primary_key=True),
    Column("webhook_id", Text, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# The storefront's webhook endpoints; a store's POS endpoint lives with its credentials.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("url", Text, nullable=False),
    # Event types sent to it; NULL: every type.
    Column("event_types", JSON),
    Column("description", Text, nullable=False, server_default=""),
    Column("is_enabled", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
)

# Signing secrets of an endpoint: two are live during a rotation, and both sign.
webhook_endpoint_secrets = Table(
    "webhook_endpoint_secrets",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("endpoint_id", Uuid, ForeignKey("webhook_endpoints.id"), nullable=False),
    # Kept as issued: signing needs the secret itself.
    Column("secret", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Index("ix_webhook_endpoint_secrets_endpoint_id", "endpoint_id"),
)

# One queue for every recipient: a store's POS (recipient_kind 'store', recipient_id the store)
# or a storefront endpoint ('endpoint', its id). Per recipient and order_key, deliveries go out
# in seq order: a later one waits while an earlier one is pending.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("recipient_kind", Text, nullable=False, server_default="store"),
    Column("recipient_id", Text, nullable=False),
    Column("order_key", Text),
    Column("seq", BigInteger, Identity(), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    # Retried until then, then kept as failed (replayable).
    Column("retry_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Index(
        "ix_webhook_deliveries_pending", "next_attempt_at", postgresql_where="status = 'pending'"
    ),
    Index(
        "ix_webhook_deliveries_order_line",
        "recipient_kind",
        "recipient_id",
        "order_key",
        "seq",
        postgresql_where="status = 'pending'",
    ),
    Index("ix_webhook_deliveries_recipient", "recipient_kind", "recipient_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("delivery_id", Uuid, ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer),
    Index("ix_webhook_attempts_delivery_id", "delivery_id"),
)

driver_positions = Table(
    "driver_positions",
    metadata,
    Column("driver_id", Uuid, primary_key=True),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

# A quote is valid for minutes: checkout takes one of its windows until it expires.
quotes = Table(
    "quotes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("mall_id", Text, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    # [{"offer_id", "quantity"}]
    Column("lines", JSON, nullable=False),
    # [{"id", "kind", "starts_at", "ends_at", "label", "fee_cents"}]
    Column("windows", JSON, nullable=False),
    Column("currency", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Dispatch's word on how many orders a mall's fleet delivers an hour (zone.capacity_changed).
mall_capacity = Table(
    "mall_capacity",
    metadata,
    Column("mall_id", Text, primary_key=True),
    Column("orders_per_hour", Float),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
