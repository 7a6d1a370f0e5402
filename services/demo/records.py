"""What the demo keeps of each order, route and driver."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.clients import DriverApp
from services.demo.world import Driver
from shared.geo import Point


@dataclass
class PlacedOrder:
    order_id: str
    token: str
    mall_id: str
    point: Point
    pin: str | None
    view: dict[str, Any]
    # Placed in a later window than the shopper's first choice.
    is_later_window: bool = False

    @property
    def status(self) -> str:
        return str(self.view["status"])

    @property
    def deliver_by(self) -> datetime:
        return datetime.fromisoformat(self.view["deliver_by"])

    @property
    def window_opens(self) -> datetime:
        return datetime.fromisoformat(self.view["window"]["starts_at"])


@dataclass
class DrivenRoute:
    route_id: str
    driver_id: str
    mall_id: str
    meters: float = 0.0
    # Simulated seconds of the drive back towards the mall before this route was accepted.
    returning_seconds: float = 0.0
    view: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class DriverRecord:
    """A simulated driver and, once signed up, its app."""

    driver: Driver
    app: DriverApp | None = None

    @property
    def driver_id(self) -> str:
        return self.app.driver_id if self.app is not None else ""

    @property
    def signed_up(self) -> DriverApp:
        if self.app is None:
            raise RuntimeError(f"driver {self.driver.index} has not signed up yet")
        return self.app


def at(value: str | None) -> datetime | None:
    """An instant the services wrote, if they wrote one."""
    return datetime.fromisoformat(value) if value else None
