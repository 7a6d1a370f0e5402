"""Batching benchmark: an afternoon of ready orders over the pilot malls, planned into routes per
mall by the dispatch solver and compared with one trip per order.

    python -m bench.batching [--orders N] [--seed N] [--budget S]

Orders are generated from the seed: customers within 15 km of their mall, 1 to 3 packages, ready
between 12:00 and 16:00 local time, promised 90 minutes to 4 hours after they are ready. The
planning (travel matrices, solves, checks) of all malls fits in the budget of wall clock. The
last line is machine-readable.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from dispatch_service.domain.checker import check
from dispatch_service.domain.routing import DeliveryOrder, Fleet, build_problem, solve
from shared.geo import Point, TravelModel, meters_to_miles
from shared.malls import Mall, pilot_malls

DAY = date(2025, 6, 2)
RADIUS_M = 15_000.0
STORES_PER_MALL = 40
# Stores lie within this distance of the mall's centre point.
STORE_SPREAD_M = 150.0
METERS_PER_DEGREE = 111_320.0
# Per mall. A driver's block is worth 20 km of driving, so fuller routes win over more drivers.
FLEET = Fleet(drivers=60, capacity=10, block=timedelta(hours=3), fixed_cost=20_000)
# Guess of the time a mall takes besides PyVRP's search, until malls measure it.
FIRST_OVERHEAD_S = 1.0
MIN_SEARCH_S = 0.1
# Plans for this share of the budget: the search stops on time, the rest only roughly so.
BUDGET_MARGIN = 0.9


def shift_start(mall: Mall) -> datetime:
    return datetime.combine(DAY, clock_time(12), tzinfo=ZoneInfo(mall.timezone))


def offset(origin: Point, meters: float, bearing: float) -> Point:
    north, east = meters * math.cos(bearing), meters * math.sin(bearing)
    return Point(
        origin.lat + north / METERS_PER_DEGREE,
        origin.lng + east / (METERS_PER_DEGREE * math.cos(math.radians(origin.lat))),
    )


def generate_orders(malls: Sequence[Mall], count: int, seed: int) -> dict[str, list[DeliveryOrder]]:
    rng = random.Random(seed)
    stores = {
        mall.id: [
            offset(mall.point, STORE_SPREAD_M * math.sqrt(rng.random()), rng.uniform(0, math.tau))
            for _ in range(STORES_PER_MALL)
        ]
        for mall in malls
    }
    orders: dict[str, list[DeliveryOrder]] = {mall.id: [] for mall in malls}
    for number in range(count):
        mall = rng.choice(malls)
        # The square root spreads customers evenly over the disc, not bunched at the centre.
        customer = offset(mall.point, RADIUS_M * math.sqrt(rng.random()), rng.uniform(0, math.tau))
        ready_at = shift_start(mall) + timedelta(minutes=rng.randrange(0, 240))
        orders[mall.id].append(
            DeliveryOrder(
                id=f"o{number:04d}",
                store=rng.choice(stores[mall.id]),
                customer=customer,
                packages=rng.randint(1, 3),
                ready_at=ready_at,
                deliver_by=ready_at + timedelta(minutes=rng.randrange(90, 241)),
            )
        )
    return orders


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20250602)
    parser.add_argument("--budget", type=float, default=5.0, help="seconds for all malls")
    args = parser.parse_args(argv)

    malls = pilot_malls()
    travel = TravelModel()
    orders = generate_orders(malls, args.orders, args.seed)
    print(
        f"{args.orders} orders over {len(malls)} malls, seed {args.seed}; per mall up to "
        f"{FLEET.drivers} drivers of {FLEET.capacity} packages, {FLEET.block} blocks, a driver "
        f"costing {FLEET.fixed_cost / 1000:g} km of driving; {args.budget:g} s for all malls.",
        flush=True,
    )

    served = routes = 0
    route_meters = single_trip_meters = 0.0
    overhead_s = FIRST_OVERHEAD_S
    started = time.perf_counter()
    for number, mall in enumerate(malls):
        mall_started = time.perf_counter()
        # What is left of the budget, shared by the malls left, less the most that building a
        # matrix, starting PyVRP and checking a plan has taken so far.
        share = (args.budget * BUDGET_MARGIN - (mall_started - started)) / (len(malls) - number)
        time_limit_s = max(MIN_SEARCH_S, share - overhead_s)
        problem = build_problem(
            mall.point,
            orders[mall.id],
            FLEET,
            shift_start=shift_start(mall),
            now=shift_start(mall),
            travel=travel,
        )
        solution = solve(problem, time_limit_s=time_limit_s, seed=args.seed)
        violations = check(problem, solution)
        mall_seconds = time.perf_counter() - mall_started
        overhead_s = max(overhead_s, mall_seconds - time_limit_s)
        if violations:
            print(f"{mall.id}: INFEASIBLE: {violations[:3]}", file=sys.stderr)
            return 1
        dropped = set(solution.dropped)
        kept = [order for order in orders[mall.id] if order.id not in dropped]
        served += len(kept)
        routes += len(solution.routes)
        route_meters += sum(route.distance for route in solution.routes)
        single_trip_meters += sum(
            travel.road_meters(mall.point, order.customer)
            + travel.road_meters(order.customer, mall.point)
            for order in kept
        )
        print(
            f"{mall.id:<26} orders {len(orders[mall.id]):>4}  routes {len(solution.routes):>3}"
            f"  dropped {len(solution.dropped):>3}"
            f"  miles {meters_to_miles(sum(r.distance for r in solution.routes)):8.1f}"
            f"  {solution.method}  search {time_limit_s:.2f} s  total {mall_seconds:.2f} s",
            flush=True,
        )
    seconds = time.perf_counter() - started

    orders_per_route = served / routes if routes else 0.0
    miles_per_order = meters_to_miles(route_meters) / served if served else 0.0
    single_miles_per_order = meters_to_miles(single_trip_meters) / served if served else 0.0
    print(
        f"\nserved {served} of {args.orders} orders in {routes} routes: "
        f"{orders_per_route:.2f} orders per route\n"
        f"miles per order: {miles_per_order:.2f} batched (all route miles, from the mall and "
        f"back, over served orders) vs {single_miles_per_order:.2f} one trip per order "
        f"(mall -> customer -> mall, same orders)\n"
        f"planning wall clock {seconds:.2f} s (matrices, solves, checks)"
    )
    print(
        f"BENCH batching orders={args.orders} seconds={seconds:.2f}"
        f" orders_per_route={orders_per_route:.2f} miles_per_order={miles_per_order:.2f}"
        f" single_trip_miles_per_order={single_miles_per_order:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
