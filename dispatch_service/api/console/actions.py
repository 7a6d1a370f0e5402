"""The operators' actions: each through the service that owns the data, each in the audit log."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Annotated, Any
from uuid import UUID

from fastapi import Path

from dispatch_service import usecases
from dispatch_service.api.console.access import (
    AUTH,
    ConsoleOperator,
    PeersDep,
    ok_example,
    operator_router,
    pilot_mall,
)
from dispatch_service.api.console.examples import ACTION, DRIVER_ID, SHIPMENT_ID
from dispatch_service.api.console.views import (
    ActionView,
    CancelShipmentRequest,
    DriverOfflineRequest,
    MallId,
    PauseRequest,
    ReofferRequest,
    RouteId,
)
from dispatch_service.api.deps import PoliciesDep
from dispatch_service.peers import PeerRefused, PeerUnavailable
from dispatch_service.store import console, routes
from shared import clock
from shared.api import DbDep
from shared.problems import PROBLEM, NotFound, ProblemError

router = operator_router()


async def _audit(
    db: DbDep,
    operator: str,
    action: str,
    *,
    mall_id: str | None,
    target_id: str | None,
    detail: dict[str, Any],
    outcome: str,
    message: str,
) -> ActionView:
    now = clock.now()
    async with db.begin() as tx:
        action_id = await console.add_action(
            tx,
            at=now,
            operator=operator,
            action=action,
            mall_id=mall_id,
            target_id=target_id,
            detail=detail,
            outcome=outcome,
            message=message,
        )
    return ActionView(
        action_id=action_id,
        at=now,
        operator=operator,
        action=action,
        mall_id=mall_id,
        target_id=target_id,
        outcome=outcome,
        message=message,
        detail=detail,
    )


ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ok_example(ACTION),
    **AUTH,
    404: PROBLEM,
    409: PROBLEM,
}


@router.post(
    "/malls/{mall_id}/rounds",
    summary="Run a batching round for the mall now",
    responses=ACTION_RESPONSES,
)
async def run_round(
    mall_id: MallId, db: DbDep, policies: PoliciesDep, operator: ConsoleOperator
) -> ActionView:
    pilot_mall(mall_id)
    report = await usecases.plan_mall(db, mall_id, clock.now(), policies)
    return await _audit(
        db,
        operator,
        "run_round",
        mall_id=mall_id,
        target_id=mall_id,
        detail={
            "planned_route_ids": [str(r) for r in report.planned],
            "left_in_pool": report.dropped,
        },
        outcome="done",
        message=(
            f"{len(report.planned)} route(s) planned, {report.dropped} shipment(s) left waiting."
        ),
    )


async def _set_paused(
    db: DbDep, policies: PoliciesDep, operator: str, mall_id: str, is_paused: bool, note: str
) -> ActionView:
    pilot_mall(mall_id)
    action = "pause_same_day" if is_paused else "resume_same_day"
    now = clock.now()
    async with db.begin() as tx:
        changed = await usecases.set_same_day_paused(
            tx, mall_id, is_paused=is_paused, operator=operator, now=now, policies=policies
        )
        if is_paused:
            message = (
                "Same-day paused; the catalog stops promising today here."
                if changed
                else "Same-day was already paused."
            )
        else:
            message = (
                "Same-day resumed; the catalog promises again as capacity allows."
                if changed
                else "Same-day was not paused."
            )
        detail = {"note": note} if note else {}
        action_id = await console.add_action(
            tx,
            at=now,
            operator=operator,
            action=action,
            mall_id=mall_id,
            target_id=mall_id,
            detail=detail,
            outcome="done" if changed else "unchanged",
            message=message,
        )
    return ActionView(
        action_id=action_id,
        at=now,
        operator=operator,
        action=action,
        mall_id=mall_id,
        target_id=mall_id,
        outcome="done" if changed else "unchanged",
        message=message,
        detail=detail,
    )


@router.post(
    "/malls/{mall_id}/pause",
    summary="Pause same-day for a mall: the catalog stops promising today (capacity event)",
    responses=ACTION_RESPONSES,
)
async def pause_same_day(
    mall_id: MallId,
    db: DbDep,
    policies: PoliciesDep,
    operator: ConsoleOperator,
    body: PauseRequest | None = None,
) -> ActionView:
    return await _set_paused(db, policies, operator, mall_id, True, body.note if body else "")


@router.post(
    "/malls/{mall_id}/resume",
    summary="Resume same-day for a mall, as far as dispatch's capacity allows",
    responses=ACTION_RESPONSES,
)
async def resume_same_day(
    mall_id: MallId,
    db: DbDep,
    policies: PoliciesDep,
    operator: ConsoleOperator,
    body: PauseRequest | None = None,
) -> ActionView:
    return await _set_paused(db, policies, operator, mall_id, False, body.note if body else "")


@router.post(
    "/routes/{route_id}/reoffer",
    summary="Offer a route again now, with a pay boost on top of any surge",
    responses=ACTION_RESPONSES,
)
async def reoffer(
    route_id: RouteId,
    body: ReofferRequest,
    db: DbDep,
    policies: PoliciesDep,
    operator: ConsoleOperator,
) -> ActionView:
    now = clock.now()
    detail: dict[str, Any] = {"boost_pct": body.boost_pct}
    try:
        async with db.begin() as tx:
            route = await usecases.reoffer_with_boost(tx, route_id, body.boost_pct, now, policies)
            offers = await routes.offers_of(tx, route_id)
            detail["pay_cents"] = offers[-1].pay_cents
            message = f"Offered again at {offers[-1].pay_cents / 100:.2f} (+{body.boost_pct}%)."
            action_id = await console.add_action(
                tx,
                at=now,
                operator=operator,
                action="reoffer",
                mall_id=route.mall_id,
                target_id=str(route_id),
                detail=detail,
                outcome="done",
                message=message,
            )
    except usecases.ActionRefused as refused:
        if refused.code == "not_found":
            raise NotFound("route") from None
        async with db.begin() as tx:
            found = await routes.get(tx, route_id)
        await _audit(
            db,
            operator,
            "reoffer",
            mall_id=found.mall_id if found else None,
            target_id=str(route_id),
            detail=detail,
            outcome="refused",
            message=refused.detail,
        )
        raise ProblemError(409, refused.code, refused.detail, title="Not possible now") from None
    return ActionView(
        action_id=action_id,
        at=now,
        operator=operator,
        action="reoffer",
        mall_id=route.mall_id,
        target_id=str(route_id),
        outcome="done",
        message=message,
        detail=detail,
    )


async def _through_peer(
    db: DbDep,
    operator: str,
    action: str,
    *,
    mall_id: str | None,
    target_id: str,
    detail: dict[str, Any],
    done_message: str,
    thing: str,
    call: Coroutine[Any, Any, object],
) -> ActionView:
    """Asks the owning service; the audit log records what it answered, yes or no."""
    try:
        await call
    except PeerRefused as refused:
        await _audit(
            db, operator, action, mall_id=mall_id, target_id=target_id, detail=detail,
            outcome="refused", message=f"The {refused.service} refused: {refused.detail}",
        )  # fmt: skip
        if refused.status_code == 404:
            raise NotFound(thing, refused.detail) from None
        raise ProblemError(
            409, "refused", f"The {refused.service} refused: {refused.detail}"
        ) from None
    except PeerUnavailable as failed:
        await _audit(
            db, operator, action, mall_id=mall_id, target_id=target_id, detail=detail,
            outcome="failed", message=f"The {failed.service} is {failed.reason}; retry.",
        )  # fmt: skip
        raise ProblemError(
            502, "peer_unavailable", f"The {failed.service} is {failed.reason}; retry shortly."
        ) from None
    return await _audit(
        db, operator, action, mall_id=mall_id, target_id=target_id, detail=detail,
        outcome="done", message=done_message,
    )  # fmt: skip


@router.post(
    "/shipments/{shipment_id}/cancel",
    summary="Cancel a shipment, through the order service (its store is told, stock released; "
    "after the pickup scan it is returned to its store)",
    responses={**ACTION_RESPONSES, 502: PROBLEM},
)
async def cancel_shipment(
    shipment_id: Annotated[UUID, Path(examples=[SHIPMENT_ID])],
    body: CancelShipmentRequest,
    db: DbDep,
    peers: PeersDep,
    operator: ConsoleOperator,
) -> ActionView:
    async with db.begin() as tx:
        mall_id = await console.mall_of_shipment(tx, shipment_id) or body.mall_id
    return await _through_peer(
        db,
        operator,
        "cancel_shipment",
        mall_id=mall_id,
        target_id=str(shipment_id),
        detail={"reason": body.reason},
        done_message=(
            "Shipment cancelled by the order service (returned to its store if already picked "
            "up); its store is told."
        ),
        thing="shipment",
        call=peers.cancel_shipment(shipment_id, body.reason),
    )


@router.post(
    "/drivers/{driver_id}/offline",
    summary="Take a driver who stopped reporting offline, through the driver service",
    responses={**ACTION_RESPONSES, 502: PROBLEM},
)
async def take_driver_offline(
    driver_id: Annotated[UUID, Path(examples=[DRIVER_ID])],
    db: DbDep,
    peers: PeersDep,
    operator: ConsoleOperator,
    body: DriverOfflineRequest | None = None,
) -> ActionView:
    return await _through_peer(
        db,
        operator,
        "driver_offline",
        mall_id=body.mall_id if body else None,
        target_id=str(driver_id),
        detail={},
        done_message="Driver taken offline by the driver service; no more offers for them.",
        thing="driver",
        call=peers.take_driver_offline(driver_id),
    )
