"""End-to-end fixtures: the real web process (uvicorn) on loopback and headless Chromium.

The server runs in a subprocess against the session's test database, so everything a
browser test needs must be committed (these tests do not use the rolled-back `db`).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.web import start_web, stop_web
from config.database import url_of
from tests.conftest import free_port

# Playwright's sync API keeps an event loop in this thread; the ORM calls made by these
# tests' fixtures are plain synchronous calls between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


_free_port = free_port


def database_url_of_test_db() -> str:
    """A URL for the session's test database, for server and worker subprocesses."""
    from django.db import connection

    return url_of(connection.settings_dict)


def wait_until(condition, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout}s")


def start_redis(port: int, data_dir) -> subprocess.Popen:
    """A redis-server of the test's own on `port`, keeping nothing on disk; up when returned."""
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def up() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_until(up, timeout=10)
    return process


@contextmanager
def running_web(**extra_env: str) -> Iterator[str]:
    """The web process as production runs it (`bin/dispatch web`: uvicorn) serving the test
    database; yields `http://localhost:<port>`."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url_of_test_db(),
        "DEBUG": "1",
        "Q_SYNC": "1",
        "PORT": str(port),  # as bin/dispatch web is told: tracking links point here
        **extra_env,
    }
    (ROOT / ".data").mkdir(exist_ok=True)
    with open(ROOT / ".data" / f"web-e2e-{port}.log", "w") as log:
        process = start_web(port, env, log)  # as bench/ starts it: bin/dispatch web
        try:
            yield f"http://localhost:{port}"
        finally:
            stop_web(process)


@pytest.fixture(scope="session")
def live_server_url(django_db_setup) -> Iterator[str]:
    """`http://localhost:<port>`: the web process serving HTTP and websockets from the test database
    (webhooks may go to loopback: the tests' receivers listen there; the API fuzzing is not
    slowed by the per-key rate, which has tests of its own)."""
    with running_web(WEBHOOK_ALLOW_LOOPBACK="1", API_KEY_RATE="100000/min") as url:
        yield url


@pytest.fixture(scope="session")
def second_live_server_url(django_db_setup) -> Iterator[str]:
    """Another web process on the same database. Django runs a process's sync views one
    at a time, so tests of truly concurrent requests spread them over two processes."""
    with running_web() as url:
        yield url


@dataclass
class LiveTenant:
    """A tenant provisioned (committed) for tests that talk to a running server."""

    provisioned: Any  # tenants.services.provisioning.ProvisionedTenant
    port: str
    owner_email: str

    @property
    def schema(self) -> str:
        return self.provisioned.tenant.schema_name

    @property
    def host(self) -> str:
        return f"{self.provisioned.domain.domain}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def live_tenant(
    django_db_blocker, server_url: str, prefix: str, *, users: tuple[tuple[str, str], ...] = ()
) -> LiveTenant:
    """Provision `<prefix>-<random>` with an owner (`owner@<prefix>.test`) and `users`
    ((email, role) pairs), all with the test password, committed for the server to see."""
    from django_tenants.utils import schema_context

    from accounts.services import user_create
    from tenants.services.provisioning import tenant_provision
    from tests.conftest import PASSWORD

    owner = f"owner@{prefix}.test"
    with django_db_blocker.unblock():
        provisioned = tenant_provision(
            name=f"{prefix.title()} Co",
            slug=f"{prefix}-{secrets.token_hex(3)}",
            owner_email=owner,
            owner_password=PASSWORD,
            country="GB",
        )
        with schema_context(provisioned.tenant.schema_name):
            for email, role in users:
                user_create(email=email, password=PASSWORD, role=role)
    return LiveTenant(provisioned, server_url.rsplit(":", 1)[1], owner)


def live_driver(django_db_blocker, server_url: str, prefix: str):
    """A tenant with `driver@<prefix>.test` and `dispatcher@<prefix>.test`, the driver
    linked to that user, on duty, with a van starting at a depot: (tenant, driver, van)."""
    from django_tenants.utils import schema_context

    from accounts.models import User
    from dispatch.models import Depot, Driver, Vehicle
    from tracking.services.day import duty_set

    tenant = live_tenant(
        django_db_blocker,
        server_url,
        prefix,
        users=((f"driver@{prefix}.test", "driver"), (f"dispatcher@{prefix}.test", "dispatcher")),
    )
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        depot = Depot.objects.create(name=f"{prefix} depot", lat=51.5, lng=-0.12)
        van = Vehicle.objects.create(name=f"{prefix} van", start_depot=depot)
        user = User.objects.get(email=f"driver@{prefix}.test")
        driver = Driver.objects.create(name=f"{prefix} Dana", user=user, default_vehicle=van)
        duty_set(driver=driver, on_duty=True)
    return tenant, driver, van


def sign_in(page, tenant: LiveTenant, email: str) -> None:
    from tests.conftest import PASSWORD

    page.goto(f"{tenant.url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP *.localhost 127.0.0.1",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def csp_checked_page(browser, **context_options: Any) -> Iterator[object]:
    """A page of a fresh browser context (`context_options`: viewport, timezone_id…);
    fails if the Content-Security-Policy blocked anything on it."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    blocked: list[str] = []
    page.on(
        "console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None
    )
    yield page
    context.close()
    assert not blocked, f"the Content-Security-Policy blocked: {blocked}"


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh page; the test fails if the Content-Security-Policy blocked anything on it."""
    with csp_checked_page(browser) as page:
        yield page
