"""Developer commands. With `make up` running they need no variable set (the database is the
local runtime's unless ORDER_DATABASE_URL says otherwise).

python -m order_service.dev token --customer <id>          prints a customer JWT
python -m order_service.dev provision-store <store_id> [--webhook-url URL]
    issues a store's POS API key and webhook secret (as the operator endpoint does)
python -m order_service.dev provision-store --order <order_id>
    the same for each store filling that order, with its shipment id: play the store
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt

from order_service import usecases
from order_service.app import MIGRATIONS
from order_service.settings import OrderSettings
from shared import clock
from shared.db import Db, Tx
from shared.migrations import upgrade
from shared.settings import load_dev_settings


def customer_token(settings: OrderSettings, customer_id: str, hours: float) -> str:
    # PyJWT checks iat and exp against the wall clock, never the (maybe simulated) suite clock.
    now = datetime.now(UTC)
    claims = {
        "sub": customer_id,
        "role": "customer",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=hours)).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


async def _provision(
    tx: Tx, settings: OrderSettings, store_id: str, webhook_url: str | None
) -> dict[str, str | None]:
    grace = timedelta(seconds=settings.pos_rotation_grace_seconds)
    api_key, secret = await usecases.provision_pos(tx, store_id, webhook_url, clock.now(), grace)
    url = await usecases.webhook_url(tx, store_id, clock.now())
    return {"store_id": store_id, "api_key": api_key, "webhook_secret": secret, "webhook_url": url}


async def provision_store(
    settings: OrderSettings, store_id: str, webhook_url: str | None
) -> dict[str, str | None]:
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url)
    db = Db(settings.database_url, pool_size=1)
    try:
        async with db.begin() as tx:
            return await _provision(tx, settings, store_id, webhook_url)
    finally:
        await db.dispose()


async def provision_order_stores(
    settings: OrderSettings, order_id: UUID, webhook_url: str | None
) -> list[dict[str, str | None]]:
    """Credentials for every store filling the order, each with its shipment's id."""
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url)
    db = Db(settings.database_url, pool_size=1)
    try:
        async with db.begin() as tx:
            return [
                {**await _provision(tx, settings, store_id, webhook_url), "shipment_id": str(sid)}
                for store_id, sid in await usecases.filling_stores(tx, order_id)
            ]
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m order_service.dev")
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print a customer JWT")
    token.add_argument("--customer", required=True)
    token.add_argument("--hours", type=float, default=24.0)
    provision = commands.add_parser(
        "provision-store",
        help="issue POS credentials for a store, or (--order) for each store filling an order",
    )
    which = provision.add_mutually_exclusive_group(required=True)
    which.add_argument("store_id", nargs="?")
    which.add_argument("--order", type=UUID, help="the stores filling this order (JSON list)")
    provision.add_argument("--webhook-url")
    args = parser.parse_args(argv)
    settings = load_dev_settings(OrderSettings)
    if args.command == "token":
        print(customer_token(settings, args.customer, args.hours))
        return 0
    if args.order is not None:
        issued = asyncio.run(provision_order_stores(settings, args.order, args.webhook_url))
        if not issued:
            print(f"no order {args.order}, or no store is filling it now", file=sys.stderr)
            return 1
        print(json.dumps(issued))
        return 0
    print(json.dumps(asyncio.run(provision_store(settings, args.store_id, args.webhook_url))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
