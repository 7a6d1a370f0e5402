"""Dev commands: `python -m driver_service.dev create-drivers --count N` prints ids and tokens.

With `make up` running it needs no variable set (the database is the local runtime's unless
DRIVER_DATABASE_URL says otherwise)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid

from driver_service import usecases
from driver_service.app import MIGRATIONS
from driver_service.domain.vehicles import VehicleType
from driver_service.settings import DriverSettings
from shared import clock
from shared.db import Db
from shared.migrations import upgrade
from shared.settings import load_dev_settings


async def create_drivers(settings: DriverSettings, count: int, prefix: str) -> list[dict[str, str]]:
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url)
    db = Db(settings.database_url, pool_size=2)
    created: list[dict[str, str]] = []
    try:
        async with db.begin() as tx:
            for _ in range(count):
                now = clock.now()
                # Random numbers in the 555 fiction exchange keep reruns from clashing.
                phone = f"+1702555{uuid.uuid4().int % 10_000:04d}{len(created) % 1000:03d}"
                row, tokens = await usecases.register_driver(
                    tx,
                    settings,
                    name=f"{prefix} {len(created) + 1}",
                    phone=phone,
                    vehicle=VehicleType.CAR,
                    now=now,
                )
                created.append(
                    {
                        "driver_id": str(row.id),
                        "name": row.name,
                        "access_token": tokens.access_token,
                        "refresh_token": tokens.refresh_token,
                    }
                )
    finally:
        await db.dispose()
    return created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m driver_service.dev")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-drivers", help="register demo drivers, print JSON")
    create.add_argument("--count", type=int, default=1)
    create.add_argument("--name", default="Demo driver")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    settings = load_dev_settings(DriverSettings)
    drivers = asyncio.run(create_drivers(settings, args.count, args.name))
    json.dump({"drivers": drivers}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
