"""The demo's pictures: planned routes per mall, and orders placed and delivered over the day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server

import matplotlib.pyplot as plt

from shared.malls import Mall

ROUTES_PNG = "routes.png"
ORDERS_PNG = "orders_over_day.png"


def draw(
    out: Path,
    *,
    malls: Sequence[Mall],
    stores: Sequence[dict[str, Any]],
    routes: Sequence[dict[str, Any]],
    placed: Sequence[datetime],
    delivered: Sequence[datetime],
    after_day: int = 0,
) -> list[Path]:
    return [
        draw_routes(out / ROUTES_PNG, malls, stores, routes),
        draw_orders(out / ORDERS_PNG, placed, delivered, after_day),
    ]


def draw_routes(
    path: Path,
    malls: Sequence[Mall],
    stores: Sequence[dict[str, Any]],
    routes: Sequence[dict[str, Any]],
) -> Path:
    columns = 2
    rows = (len(malls) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(7 * columns, 6.5 * rows), squeeze=False)
    colors = plt.get_cmap("tab20")
    for index, mall in enumerate(malls):
        ax = axes[index // columns][index % columns]
        mall_routes = [r for r in routes if r.get("mall_id") == mall.id]
        for number, route in enumerate(mall_routes):
            stops = sorted(route["stops"], key=lambda s: s["sequence"])
            lngs = [mall.lng, *(s["lng"] for s in stops)]
            lats = [mall.lat, *(s["lat"] for s in stops)]
            ax.plot(lngs, lats, "-", color=colors(number % 20), linewidth=1.2, alpha=0.8)
            drops = [s for s in stops if s["kind"] == "dropoff"]
            ax.scatter(
                [s["lng"] for s in drops],
                [s["lat"] for s in drops],
                s=14,
                color=colors(number % 20),
                zorder=3,
            )
        own = [s for s in stores if s["mall_id"] == mall.id]
        ax.scatter(
            [s["lng"] for s in own],
            [s["lat"] for s in own],
            marker="s",
            s=18,
            color="black",
            label="stores",
            zorder=4,
        )
        ax.scatter([mall.lng], [mall.lat], marker="*", s=220, color="gold", edgecolor="black",
                   label="mall", zorder=5)  # fmt: skip
        ax.set_title(f"{mall.name}: {len(mall_routes)} routes")
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        ax.legend(loc="upper right", fontsize=8)
        ax.set_aspect("equal", adjustable="datalim")
    for extra in range(len(malls), rows * columns):
        axes[extra // columns][extra % columns].axis("off")
    figure.suptitle("Planned routes (lines from the mall through each stop; dots are drop-offs)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def draw_orders(
    path: Path, placed: Sequence[datetime], delivered: Sequence[datetime], after_day: int = 0
) -> Path:
    figure, ax = plt.subplots(figsize=(10, 4.5))
    first = min([*placed, *delivered], default=None)
    midnight = (first or datetime.now()).replace(hour=0, minute=0, second=0, microsecond=0)
    last = 0.0
    for label, moments in (("placed", placed), ("delivered", delivered)):
        # Hours since the first day's midnight (UTC) as plain numbers: no date converter needed.
        ordered = sorted((m - midnight).total_seconds() / 3600 for m in moments)
        ax.step(ordered, range(1, len(ordered) + 1), where="post", label=label)
        last = max([last, *ordered])
    if after_day:
        # Orders promised for a window after the simulated day: not delivered here, not late.
        ax.bar(
            [last + 0.1],
            [after_day],
            width=0.08,
            color="tab:gray",
            label=f"promised after the day ({after_day})",
        )
    ax.set_title("Orders over the simulated day (cumulative)")
    ax.set_xlabel("simulated time (hours since midnight UTC)")
    ax.set_ylabel("orders")
    ax.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
