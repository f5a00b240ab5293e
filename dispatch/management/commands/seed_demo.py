"""Create (or reuse) the demo tenant with its logins, and print how to sign in."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.services import user_create
from dispatch.models import Depot, Driver, Order, RecurringOrder, Vehicle
from dispatch.services import demo
from dispatch.services.fleet import depot_save, driver_save, vehicle_save
from dispatch.services.orders import orders_create
from dispatch.services.recurring import recurring_create
from geo.selectors import region_of
from tenants.models import ApiKey, Tenant
from tenants.selectors import DEMO_OWNER_EMAIL, DEMO_SLUG
from tenants.services.provisioning import (
    api_key_create,
    public_tenant_ensure,
    tenant_host,
    tenant_provision,
)
from tenants.services.roads import tenant_roads_update

DEMO_USERS = [
    (DEMO_OWNER_EMAIL, "Olivia Owner", User.Role.OWNER),
    ("dispatcher@demo.test", "Dan Dispatcher", User.Role.DISPATCHER),
    ("driver@demo.test", "Dora Driver", User.Role.DRIVER),
]


class Command(BaseCommand):
    help = "Create the demo tenant (host demo.<TENANT_BASE_DOMAIN>) with owner, dispatcher, driver."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_DATA:
            raise CommandError(
                "No demo data with DEBUG off: the demo's logins have a published password and "
                "its API key would be printed to this log. Set DEMO_DATA=1 to make it anyway."
            )
        password = os.environ.get("DEMO_PASSWORD", "demo-dispatch-2026")
        public_tenant_ensure()
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is None:
            result = tenant_provision(
                name="Demo Deliveries",
                slug=DEMO_SLUG,
                owner_email=DEMO_USERS[0][0],
                owner_name=DEMO_USERS[0][1],
                owner_password=password,
                country=demo.COUNTRY,
                time_zone=demo.TIME_ZONE,
                create_api_key=False,
            )
            tenant = result.tenant
            self.stdout.write(f"created the demo tenant in {result.seconds * 1000:.0f} ms")
        roads = demo.demo_region_ensure(progress=lambda line: self.stdout.write(f"  {line}"))
        if roads:
            self.stdout.write(roads)
        if not tenant.road_region and region_of(demo.REGION, demo.PROFILE) is not None:
            tenant_roads_update(
                tenant=tenant,
                region=demo.REGION,
                profile=demo.PROFILE,
                rush_hours=demo.RUSH_HOURS,
            )
        with schema_context(tenant.schema_name):
            for email, name, role in DEMO_USERS[1:]:
                if not User.objects.filter(email=email).exists():
                    user_create(email=email, password=password, role=role, name=name)
            created = self._fleet_and_orders(tenant)
        api_key = ""
        if not ApiKey.objects.filter(tenant=tenant, name="Demo key").exists():
            _, api_key = api_key_create(tenant=tenant, name="Demo key")
        port = options["port"]
        host = tenant_host(DEMO_SLUG)
        lines = [
            "",
            f"  Dashboard:  http://{host}:{port}/",
            f"  Sign-up:    http://{settings.PUBLIC_HOST}:{port}/",
            f"  API docs:   http://{host}:{port}/api/docs/",
            f"  Tracking links in messages: {settings.PUBLIC_BASE_URL}/t/<token>",
            f"  Logins (password '{password}'):",
            *[f"    {role:<10} {email}" for email, _, role in DEMO_USERS],
        ]
        if api_key:
            lines.append(f"  Demo API key (shown once): {api_key}")
        where = "central Helsinki, on its roads" if tenant.road_region else "Helsinki"
        lines.append(
            f"  Sample data: 1 depot, 3 vehicles, 2 drivers, {created} new orders in {where}"
            " (map data © OpenStreetMap contributors)"
        )
        lines.append(
            f"  To try: {len(demo.PAIRS)} pickup-and-delivery pairs today, "
            f"{len(demo.FLEXIBLE)} orders for tomorrow that may wait {demo.FLEXIBLE_DAYS} more "
            "days, a weekly recurring order (Mondays and Thursdays)"
        )
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))

    def _fleet_and_orders(self, tenant: Tenant) -> int:
        """The depot, vans, drivers and orders of the demo; returns how many orders are new."""
        depot = Depot.objects.filter(name=demo.DEPOT["name"]).first() or depot_save(data=demo.DEPOT)
        vehicles = [
            Vehicle.objects.filter(name=spec["name"]).first()
            or vehicle_save(data={**spec, "start_depot": depot})
            for spec in demo.VEHICLES
        ]
        drivers = [
            {"name": DEMO_USERS[2][1], "user": User.objects.get(email=DEMO_USERS[2][0])},
            {"name": "Sam Second"},
        ]
        for number, (spec, vehicle) in enumerate(zip(drivers, vehicles, strict=False), start=1):
            if not Driver.objects.filter(name=spec["name"]).exists():
                driver_save(
                    data={**spec, "phone": f"040 555 {number:04d}", "default_vehicle": vehicle}
                )
        # the same external ids on every run: a second run finds them ("exists")
        results = orders_create(
            demo.demo_orders(time_zone=tenant.time_zone)
            + demo.demo_more_orders(time_zone=tenant.time_zone),
            source=Order.Source.API,
            actor="system:demo",
        )
        invalid = [r for r in results if r.status == "invalid"]
        if invalid:
            self.stderr.write(f"demo orders refused: {invalid[:3]}")
        made = sum(r.status == "created" for r in results)
        if not RecurringOrder.objects.filter(name=demo.RECURRING_NAME).exists():
            # makes its days' orders within lead_days at once (the nightly job, the rest)
            recurring = recurring_create(**demo.demo_recurring(time_zone=tenant.time_zone))
            made += recurring.occurrences.exclude(order=None).count()
        return made
