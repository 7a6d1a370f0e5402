"""Quotes: what a shopper was offered for a cart and an address, good for a few minutes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from order_service.domain.quote import Quote, QuotedWindow
from order_service.store.tables import quotes
from shared.db import Tx


async def insert(tx: Tx, quote: Quote) -> None:
    await tx.execute(
        quotes.insert().values(
            id=quote.id,
            customer_id=quote.customer_id,
            mall_id=quote.mall_id,
            lat=quote.lat,
            lng=quote.lng,
            lines=[{"offer_id": o, "quantity": q} for o, q in quote.lines],
            windows=[_window_row(w) for w in quote.windows],
            currency=quote.currency,
            created_at=quote.created_at,
            expires_at=quote.expires_at,
        )
    )


def _window_row(window: QuotedWindow) -> dict[str, Any]:
    return {
        "id": window.id,
        "kind": window.kind,
        "starts_at": window.starts_at.isoformat(),
        "ends_at": window.ends_at.isoformat(),
        "label": window.label,
        "fee_cents": window.fee_cents,
    }


async def get(tx: Tx, quote_id: UUID) -> Quote | None:
    row = (await tx.execute(select(quotes).where(quotes.c.id == quote_id))).first()
    if row is None:
        return None
    return Quote(
        id=row.id,
        customer_id=row.customer_id,
        mall_id=row.mall_id,
        lat=row.lat,
        lng=row.lng,
        lines=tuple((str(line["offer_id"]), int(line["quantity"])) for line in row.lines),
        windows=tuple(
            QuotedWindow(
                id=str(w["id"]),
                kind=str(w["kind"]),
                starts_at=datetime.fromisoformat(w["starts_at"]),
                ends_at=datetime.fromisoformat(w["ends_at"]),
                label=str(w["label"]),
                fee_cents=int(w["fee_cents"]),
            )
            for w in row.windows
        ),
        currency=row.currency,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )
