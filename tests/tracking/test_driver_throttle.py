"""A rate limit per driver on the driver app's HTTP calls (issue 22): one count per driver,
kept by schema and driver, shared by the app's pages and the token's API; past it, 429
with Retry-After. Another driver, and another tenant's driver with the same id, carry on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context
from rest_framework.throttling import SimpleRateThrottle

from accounts.services import user_create
from tests.conftest import PASSWORD, login_client
from tests.tracking.helpers import ago, driver_for
from tests.tracking.test_tracking_api import item, linked_driver, phone, send

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 3

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver_rate() -> Iterator[None]:
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "driver": f"{LIMIT}/min"}
    cache.clear()
    yield
    SimpleRateThrottle.THROTTLE_RATES = original
    cache.clear()


def navigation(client):
    return client.post(
        "/driver/settings", {"navigation_app": "google"}, HTTP_ACCEPT="application/json"
    )


def use_up(client) -> None:
    assert [navigation(client).status_code for _ in range(LIMIT)] == [200] * LIMIT


def other_driver(fixture, email: str = "second-driver@example.test"):
    with schema_context(fixture.tenant.schema_name):
        user = user_create(email=email, password=PASSWORD, role="driver", name="Second")
        driver_for(user.pk, name="Second")
    return login_client(fixture.host, email)


# each of the app's calls, as the app sends it (all refused past the limit, whatever the body)
CALLS = {
    "stop": lambda c: c.post("/driver/stops", {}, HTTP_ACCEPT="application/json"),
    "scan": lambda c: c.post("/driver/scans", {}, HTTP_ACCEPT="application/json"),
    "settings": navigation,
    "duty": lambda c: c.post("/driver/duty", {"on_duty": "1"}),
    "token": lambda c: c.get("/driver/token", HTTP_ACCEPT="application/json"),
    "proof": lambda c: c.post("/driver/stops/1/complete", {}, HTTP_ACCEPT="application/json"),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_each_call_of_the_app_is_refused_past_the_drivers_limit(alpha, driver_rate, call):
    linked_driver(alpha)
    client = login_client(alpha.host, alpha.driver_email)
    use_up(client)
    refused = CALLS[call](client)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_the_app_is_told_in_json_and_the_offline_batches_share_the_count(alpha, driver_rate):
    _, token = linked_driver(alpha)
    client = login_client(alpha.host, alpha.driver_email)
    use_up(client)
    refused = navigation(client)
    assert refused.status_code == 429 and "try again in" in refused.json()["errors"]["__all__"][0]
    batch = send(phone(alpha.host, token), [item(ago(minutes=1))])
    assert batch.status_code == 429 and int(batch["Retry-After"]) >= 1


def test_the_offline_batches_alone_are_limited(alpha, driver_rate):
    _, token = linked_driver(alpha)
    answers = [send(phone(alpha.host, token), [item(ago(minutes=n + 1))]) for n in range(LIMIT + 1)]
    assert [a.status_code for a in answers] == [200] * LIMIT + [429]
    assert int(answers[-1]["Retry-After"]) >= 1


def test_another_driver_of_the_tenant_is_not_slowed_down(alpha, driver_rate):
    linked_driver(alpha)
    use_up(login_client(alpha.host, alpha.driver_email))
    assert navigation(login_client(alpha.host, alpha.driver_email)).status_code == 429
    assert navigation(other_driver(alpha)).status_code == 200


def test_another_tenants_driver_with_the_same_id_is_not_slowed_down(alpha, beta, driver_rate):
    ours, our_token = linked_driver(alpha)
    theirs, their_token = linked_driver(beta, pk=ours.pk)
    assert (theirs.pk, theirs.user_id) == (ours.pk, ours.user_id)
    use_up(login_client(alpha.host, alpha.driver_email))
    assert send(phone(alpha.host, our_token), [item(ago(minutes=1))]).status_code == 429
    assert send(phone(beta.host, their_token), [item(ago(minutes=1))]).status_code == 200
    assert navigation(login_client(beta.host, beta.driver_email)).status_code == 200


def test_the_default_rate_lets_an_outbox_catch_up():
    """The app sends what a shift without signal kept one item after another: hundreds of
    stop events, scans and proofs, fixes 500 to a batch. The default must take a few
    hundred in a burst (past it the app keeps the item and tries again later)."""
    env = {k: v for k, v in os.environ.items() if k != "DRIVER_HTTP_RATE"}
    probe = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['driver']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rate = json.loads(result.stdout.strip().splitlines()[-1])
    count, period = _parse(rate)
    assert count >= 500 and period <= 60, rate


def _parse(rate: str) -> tuple[int, int]:
    count, period = rate.split("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
