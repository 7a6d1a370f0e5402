from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from dispatch_service import metrics
from dispatch_service.api.console import ROUTERS as CONSOLE_ROUTERS
from dispatch_service.api.console.rendering import render_board
from dispatch_service.api.operators import router as operators_router
from dispatch_service.api.pages import install_console_page
from dispatch_service.board import load_board
from dispatch_service.console_feed import ConsoleFeeds
from dispatch_service.dead_letters import DeadLetterWatcher
from dispatch_service.domain.console.exceptions import ExceptionPolicy
from dispatch_service.events.handlers import consumers
from dispatch_service.peers import Peers
from dispatch_service.settings import DispatchSettings
from dispatch_service.timers import start_timers, stop_timers
from dispatch_service.usecases import Policies
from shared import clock
from shared.malls import pilot_malls
from shared.service import ServiceParts, create_service_app

MIGRATIONS = Path(__file__).parent / "store" / "migrations"


def exception_policy(settings: DispatchSettings) -> ExceptionPolicy:
    return ExceptionPolicy(
        pool_slack=timedelta(minutes=settings.console_pool_slack_minutes),
        unaccepted_offers=settings.console_unaccepted_offers,
        slow_pack_grace=timedelta(minutes=settings.console_slow_pack_grace_minutes),
        position_fresh=timedelta(seconds=settings.position_fresh_seconds),
        off_route_m=settings.console_off_route_m,
    )


def create_app(
    settings: DispatchSettings, *, peer_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The dispatch service; the transport lets tests stand in for the order and driver
    services the console's actions go through."""
    policies = Policies.from_settings(settings)
    malls = {mall.id: mall for mall in pilot_malls()}

    async def start_console(app: FastAPI) -> None:
        policy = exception_policy(settings)

        async def load(mall_id: str) -> dict[str, Any]:
            board = await load_board(app.state.db, malls[mall_id], clock.now(), policies, policy)
            # Rendering a busy mall's board is plain CPU: off the event loop.
            return await asyncio.to_thread(render_board, board)

        app.state.console_feeds = ConsoleFeeds(
            load, refresh_seconds=settings.console_refresh_seconds
        )
        app.state.peers = Peers(settings, transport=peer_transport)
        app.state.dead_letters = DeadLetterWatcher(
            app.state.db,
            settings.kafka(),
            group_id=settings.group("console-dead-letters"),
            topic_suffix=settings.topic_suffix,
        )
        await app.state.dead_letters.start()

    async def stop_console(app: FastAPI) -> None:
        await app.state.dead_letters.stop()
        await app.state.console_feeds.stop()
        await app.state.peers.close()

    app = create_service_app(
        ServiceParts(
            name="dispatch",
            title="mall-to-home dispatch service",
            description=(
                "Batches ready orders into routes and offers them to drivers. Operators watch "
                "and steer the pilot from the console at /console."
            ),
            settings=settings,
            routers=[operators_router, *CONSOLE_ROUTERS],
            migrations=MIGRATIONS,
            metrics=metrics.COLLECTORS,
            consumers=consumers(policies),
            on_startup=[start_timers, start_console],
            on_shutdown=[stop_timers, stop_console],
            openapi_tags=[
                {
                    "name": "internal",
                    "description": "Operators only (operator bearer token); names stores.",
                },
                {
                    "name": "console",
                    "description": "The operator console's API (operator token as a bearer "
                    "token or the console's cookie); names stores, drivers and malls.",
                },
            ],
        )
    )
    app.state.policies = policies
    install_console_page(app, settings)
    return app
