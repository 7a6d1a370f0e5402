"""Developer commands.

python -m order_service.dev token --customer <id>          prints a customer JWT
python -m order_service.dev provision-store <store_id> [--webhook-url URL]
    issues a store's POS API key and webhook secret (as the operator endpoint does)
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, timedelta

import jwt

from order_service import usecases
from order_service.app import MIGRATIONS
from order_service.settings import OrderSettings
from shared import clock
from shared.db import Db
from shared.migrations import upgrade
from shared.settings import load_settings


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


async def provision_store(
    settings: OrderSettings, store_id: str, webhook_url: str | None
) -> dict[str, str | None]:
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url)
    db = Db(settings.database_url, pool_size=1)
    try:
        async with db.begin() as tx:
            grace = timedelta(seconds=settings.pos_rotation_grace_seconds)
            api_key, secret = await usecases.provision_pos(
                tx, store_id, webhook_url, clock.now(), grace
            )
            url = await usecases.webhook_url(tx, store_id, clock.now())
    finally:
        await db.dispose()
    return {"store_id": store_id, "api_key": api_key, "webhook_secret": secret, "webhook_url": url}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m order_service.dev")
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print a customer JWT")
    token.add_argument("--customer", required=True)
    token.add_argument("--hours", type=float, default=24.0)
    provision = commands.add_parser("provision-store", help="issue POS credentials for a store")
    provision.add_argument("store_id")
    provision.add_argument("--webhook-url")
    args = parser.parse_args(argv)
    settings = load_settings(OrderSettings)
    if args.command == "token":
        print(customer_token(settings, args.customer, args.hours))
    else:
        print(json.dumps(asyncio.run(provision_store(settings, args.store_id, args.webhook_url))))


if __name__ == "__main__":
    main()
