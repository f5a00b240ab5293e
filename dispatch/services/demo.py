"""Sample data for the demo tenant: a depot in London, three vans, drivers, and orders at
real London addresses (coordinates approximate), for today and tomorrow."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo

DEPOT = {
    "name": "Bermondsey depot",
    "address_line1": "Unit 4, 30 Rotherhithe New Road",
    "city": "London",
    "postcode": "SE16 3LJ",
    "country": "GB",
    "lat": 51.4905,
    "lng": -0.0637,
}

VEHICLES = [
    {"name": "Van 1", "capacity_weight_kg": 800, "capacity_volume_l": 6000, "capacity_items": 80},
    {"name": "Van 2", "capacity_weight_kg": 800, "capacity_volume_l": 6000, "capacity_items": 80},
    {
        "name": "Cargo bike",
        "capacity_weight_kg": 120,
        "capacity_volume_l": 400,
        "capacity_items": 20,
    },
]

# (street address, postcode, lat, lng)
ADDRESSES = [
    ("221B Baker Street", "NW1 6XE", 51.5238, -0.1586),
    ("10 Downing Street", "SW1A 2AA", 51.5034, -0.1276),
    ("1 Canada Square", "E14 5AB", 51.5049, -0.0195),
    ("30 St Mary Axe", "EC3A 8BF", 51.5145, -0.0803),
    ("Great Russell Street", "WC1B 3DG", 51.5194, -0.1270),
    ("Exhibition Road", "SW7 2DD", 51.4967, -0.1764),
    ("Bankside", "SE1 9TG", 51.5076, -0.0994),
    ("Camden High Street", "NW1 7JR", 51.5390, -0.1426),
    ("Upper Street", "N1 0PN", 51.5416, -0.1028),
    ("Brick Lane", "E1 6QR", 51.5215, -0.0717),
    ("Portobello Road", "W11 1LU", 51.5155, -0.2050),
    ("King's Road", "SW3 4UD", 51.4875, -0.1687),
    ("Northcote Road", "SW11 1NP", 51.4566, -0.1660),
    ("Lordship Lane", "SE22 8HJ", 51.4545, -0.0752),
    ("Greenwich Church Street", "SE10 9BL", 51.4813, -0.0094),
    ("Mare Street", "E8 1HR", 51.5459, -0.0553),
    ("Stoke Newington Church Street", "N16 0UB", 51.5618, -0.0794),
    ("Coldharbour Lane", "SW9 8LQ", 51.4632, -0.1108),
    ("Old Kent Road", "SE1 5LU", 51.4858, -0.0778),
    ("Whitechapel Road", "E1 1BY", 51.5190, -0.0610),
    ("Marylebone High Street", "W1U 4QW", 51.5201, -0.1519),
    ("Tower Bridge Road", "SE1 2UP", 51.4985, -0.0790),
    ("Bow Road", "E3 4DH", 51.5272, -0.0248),
    ("Clapham High Street", "SW4 7UL", 51.4623, -0.1382),
]
FIRST = ["Amira", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hassan", "Isla", "Jack"]
LAST = ["Ahmed", "Brown", "Clarke", "Davies", "Evans", "Fraser", "Green", "Hughes", "Khan"]
WINDOWS = [
    [],
    [{"start": "09:00", "end": "12:00"}],
    [{"start": "12:00", "end": "15:00"}],
    [{"start": "15:00", "end": "18:00"}],
    [{"start": "09:00", "end": "11:00"}, {"start": "16:00", "end": "18:00"}],
]


def demo_orders(*, time_zone: str, count: int = 40) -> list[dict]:
    """`count` orders spread over today and tomorrow (tenant time), the same on every run."""
    rng = random.Random(7)  # noqa: S311 - sample data, not security
    today = dt.datetime.now(zoneinfo.ZoneInfo(time_zone)).date()
    orders = []
    for number in range(1, count + 1):
        street, postcode, lat, lng = ADDRESSES[(number - 1) % len(ADDRESSES)]
        house = "" if street[0].isdigit() else f"{rng.randint(1, 180)} "
        orders.append(
            {
                "external_id": f"DEMO-{number:03d}",
                "customer_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "customer_phone": f"020 7946 {rng.randint(0, 999):04d}",
                "address_line1": f"{house}{street}",
                "city": "London",
                "postcode": postcode,
                "lat": round(lat + rng.uniform(-0.002, 0.002), 5),
                "lng": round(lng + rng.uniform(-0.003, 0.003), 5),
                "delivery_date": (today + dt.timedelta(days=number % 2)).isoformat(),
                "time_windows": rng.choice(WINDOWS),
                "service_s": rng.choice([180, 240, 300, 420]),
                "weight_kg": round(rng.uniform(0.5, 25), 1),
                "volume_l": rng.randint(5, 120),
                "items": rng.randint(1, 4),
                "required_skills": ["fridge"] if number % 9 == 0 else [],
                "notes": "Leave with neighbour if out" if number % 7 == 0 else "",
            }
        )
    return orders
