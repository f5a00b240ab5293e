"""The day the planning benchmarks plan (bench/planning.py, bench/roads.py): a depot, a van
and driver per ORDERS_PER_VAN orders (07:00 to 19:00, no break; 120 items and 300 kg, so
that about 50 orders fill one), and one open order at each place given: 1-3 items, 1-8 kg,
3-7 minutes at the door, a third with a 3-hour window.

Import it after django.setup(): it uses the models.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from decimal import Decimal

from dispatch.models import Depot, Driver, Order, Vehicle

ORDERS_PER_VAN = 50


def fleet_day(
    *,
    name: str,
    date: dt.date,
    depot_at: tuple[float, float],
    orders: int,
    place_of: Callable[[int], dict],
    rng: random.Random,
) -> tuple[Depot, int]:
    """Stores the day; `place_of(i)` gives order i's address fields with `lat` and `lng`
    (called after its window is drawn from `rng`, so a place drawn from `rng` too keeps the
    instances of earlier runs). Returns the depot and how many vans (each with its driver)."""
    depot = Depot.objects.create(
        name=f"Bench depot {name}",
        lat=round(depot_at[0], 6),
        lng=round(depot_at[1], 6),
        opens_at=dt.time(6),
        closes_at=dt.time(22),
    )
    vans = math.ceil(orders / ORDERS_PER_VAN)
    for k in range(1, vans + 1):
        van = Vehicle.objects.create(
            name=f"Bench {name} van {k}",
            start_depot=depot,
            capacity_weight_kg=Decimal("300"),
            capacity_items=120,
            cost_per_km=Decimal("0.5"),
            cost_per_hour=Decimal("20"),
        )
        Driver.objects.create(
            name=f"Bench {name} driver {k}",
            default_vehicle=van,
            shift_start=dt.time(7),
            shift_end=dt.time(19),
        )
    made = []
    for i in range(1, orders + 1):
        windows = []
        if rng.random() < 1 / 3:
            start = rng.randint(8, 15)
            windows = [{"start": f"{start:02d}:00", "end": f"{start + 3:02d}:00"}]
        made.append(
            Order(
                external_id=f"bench-{name}-{i}",
                customer_name=f"Customer {i}",
                geocode_status=Order.GeocodeStatus.PROVIDED,
                delivery_date=date,
                **place_of(i),
                weight_kg=Decimal(rng.randint(10, 80)) / 10,
                items=rng.randint(1, 3),
                service_s=rng.randint(180, 420),
                time_windows=windows,
            )
        )
    Order.objects.bulk_create(made, batch_size=1000)
    return depot, vans
