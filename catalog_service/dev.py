"""Developer commands: `python -m catalog_service.dev seed [...]` and `... retailer-key ID`.

Settings come from the environment like the service's own; with `make up` running none need
setting (the database is the local runtime's unless CATALOG_DATABASE_URL says otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from pathlib import Path

from catalog_service import usecases
from catalog_service.app import MIGRATIONS
from catalog_service.domain.seed import (
    MAX_SKUS,
    MAX_STOCK_SCALE,
    MAX_STORES_PER_MALL,
    generate_catalog,
)
from catalog_service.settings import CatalogSettings
from catalog_service.store import catalog
from shared.clock import now
from shared.db import Db
from shared.malls import pilot_malls
from shared.migrations import upgrade
from shared.settings import load_dev_settings

DEFAULT_KEYS_FILE = Path(".local/catalog_retailer_keys.json")


def new_api_key() -> str:
    return f"rk_{secrets.token_urlsafe(24)}"


def write_keys(path: Path, keys: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=2) + "\n")
    path.chmod(0o600)


async def seed(
    settings: CatalogSettings,
    *,
    stores_per_mall: int,
    skus: int,
    if_empty: bool,
    keys_file: Path,
    max_inventory_events: int,
    stock_scale: int = 1,
) -> int:
    started = time.monotonic()
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url)
    db = Db(settings.database_url, pool_size=1)
    try:
        async with db.begin() as tx:
            await usecases.ensure_malls(tx, settings)
            if await catalog.has_stores(tx):
                if if_empty:
                    print("catalog: already seeded, nothing to do")
                    return 0
                print("catalog: already seeded; use a fresh database", file=sys.stderr)
                return 1
            generated = generate_catalog(
                pilot_malls(), stores_per_mall, skus, stock_scale=stock_scale
            )
            keys = {retailer.id: new_api_key() for retailer in generated.retailers}
            result = await usecases.save_seed(tx, generated, keys, now(), max_inventory_events)
    finally:
        await db.dispose()
    await asyncio.to_thread(write_keys, keys_file, keys)
    print(
        f"catalog: seeded {result.stores} stores, {result.products} products, "
        f"{result.stock_rows} stock rows in {time.monotonic() - started:.1f} s; "
        f"{result.inventory_events} inventory events queued; "
        f"retailer API keys in {keys_file}"
    )
    if result.inventory_events < result.stock_rows:
        print(
            f"catalog: more than {max_inventory_events} stock rows, so no inventory.changed "
            "events for them (the order service gets quantities when it resolves offers)"
        )
    return 0


async def rotate_key(settings: CatalogSettings, retailer_id: str) -> int:
    db = Db(settings.database_url, pool_size=1)
    key = new_api_key()
    try:
        async with db.begin() as tx:
            changed = await catalog.set_retailer_key(tx, retailer_id, usecases.hash_api_key(key))
    finally:
        await db.dispose()
    if not changed:
        print(f"catalog: no retailer {retailer_id}", file=sys.stderr)
        return 1
    print(key)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog_service.dev")
    commands = parser.add_subparsers(dest="command", required=True)
    seed_cmd = commands.add_parser("seed", help="generate retailers, stores, products, stock")
    seed_cmd.add_argument(
        "--stores-per-mall", type=int, default=10, choices=range(1, MAX_STORES_PER_MALL + 1),
        metavar=f"1..{MAX_STORES_PER_MALL}",
    )  # fmt: skip
    seed_cmd.add_argument(
        "--skus", type=int, default=500, choices=range(1, MAX_SKUS + 1), metavar=f"1..{MAX_SKUS}"
    )
    seed_cmd.add_argument("--if-empty", action="store_true", help="do nothing if already seeded")
    seed_cmd.add_argument("--keys-file", type=Path, default=DEFAULT_KEYS_FILE)
    seed_cmd.add_argument("--max-inventory-events", type=int, default=20_000)
    seed_cmd.add_argument(
        "--stock-scale", type=int, default=1, choices=range(1, MAX_STOCK_SCALE + 1),
        metavar=f"1..{MAX_STOCK_SCALE}", help="multiplies every stock quantity (load runs)",
    )  # fmt: skip
    key_cmd = commands.add_parser("retailer-key", help="issue a new API key for a retailer")
    key_cmd.add_argument("retailer_id")
    args = parser.parse_args(argv)
    settings = load_dev_settings(CatalogSettings)
    if args.command == "seed":
        return asyncio.run(
            seed(
                settings,
                stores_per_mall=args.stores_per_mall,
                skus=args.skus,
                if_empty=args.if_empty,
                keys_file=args.keys_file,
                max_inventory_events=args.max_inventory_events,
                stock_scale=args.stock_scale,
            )
        )
    return asyncio.run(rotate_key(settings, args.retailer_id))


if __name__ == "__main__":
    raise SystemExit(main())
