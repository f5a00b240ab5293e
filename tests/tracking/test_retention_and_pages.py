"""GPS history retention, the driver's duty and stop pages, the live map, and the public
tracking links."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Driver, Order, OrderStatus
from tenants.models import Tenant, TrackingLink
from tests.conftest import host_client, login_client
from tests.routing.factories import DAY
from tests.tracking.helpers import ago, driver_for, fix, orders_on, solved_day
from tracking.models import DriverPosition, Duty, LocationPing
from tracking.services.day import duty_set, fixes_store, locations_purge, tracking_link_for
from tracking.services.tokens import BadToken, read_driver_token

# --- retention ------------------------------------------------------------------------------


@pytest.fixture
def retention(alpha):
    """Set alpha's retention (days) in the public table; put it back afterwards."""
    before = Tenant.objects.get(pk=alpha.tenant.pk).location_retention_days

    def set_days(days: int) -> None:
        Tenant.objects.filter(pk=alpha.tenant.pk).update(location_retention_days=days)

    yield set_days
    set_days(before)


def history(fixture, days_ago: list[float]) -> Driver:
    with schema_context(fixture.tenant.schema_name):
        driver = driver_for(name="Purged")
        now = ago()
        fixes_store(
            (driver.pk, fix(now - dt.timedelta(days=d), 50 + d / 100), 1_000 + k)
            for k, d in enumerate(days_ago)
        )
    return driver


def ages(driver: Driver) -> list[float]:
    """How many days old each stored fix is (to the hundredth)."""
    now = ago()
    return sorted(
        round((now - at).total_seconds() / 86_400, 2)
        for at in LocationPing.objects.filter(driver=driver).values_list("recorded_at", flat=True)
    )


@pytest.mark.django_db
def test_history_older_than_the_tenants_retention_is_purged(alpha, retention):
    retention(7)
    driver = history(alpha, [0.01, 2, 6.9, 7.1, 10, 40])
    with schema_context(alpha.tenant.schema_name):
        position = DriverPosition.objects.get(driver=driver)
        assert locations_purge() == 3
        assert ages(driver) == [0.01, 2, 6.9]
        # the latest position is not history: untouched
        assert DriverPosition.objects.get(driver=driver).recorded_at == position.recorded_at
        assert locations_purge() == 0  # nothing more

        # a shorter setting purges more
        retention(3)
        assert locations_purge() == 1
        assert ages(driver) == [0.01, 2]
        assert DriverPosition.objects.filter(driver=driver).count() == 1


@pytest.mark.django_db
def test_the_default_retention_is_thirty_days_and_days_may_be_given(alpha, retention):
    assert Tenant._meta.get_field("location_retention_days").default == 30
    retention(30)
    driver = history(alpha, [29, 31, 100])
    with schema_context(alpha.tenant.schema_name):
        assert locations_purge() == 2
        assert ages(driver) == [29]
        assert locations_purge(days=28) == 1
        assert ages(driver) == []


@pytest.mark.django_db
def test_purging_one_tenant_leaves_the_other_alone(alpha, beta, retention):
    retention(7)
    ours = history(alpha, [1, 10])
    theirs = history(beta, [1, 10])
    with schema_context(alpha.tenant.schema_name):
        assert locations_purge() == 1
        assert ages(ours) == [1]
    with schema_context(beta.tenant.schema_name):
        assert ages(theirs) == [1, 10]  # beta keeps 30 days


@pytest.mark.django_db
def test_the_worker_purges_in_the_tenants_schema(alpha, retention):
    from tenants.tasks import run_in_schema

    retention(5)
    driver = history(alpha, [2, 6, 9])
    assert run_in_schema(alpha.tenant.schema_name, "tracking.services.day.locations_purge") == 2
    with schema_context(alpha.tenant.schema_name):
        assert ages(driver) == [2]


def test_the_purge_is_scheduled_daily_for_every_tenant():
    from tenants.tasks import schedules

    jobs = {path: kind for path, kind, _ in schedules().values()}
    assert "tracking.tasks.locations_purge" in jobs, "purge of GPS history not scheduled"
    assert jobs["tracking.tasks.locations_purge"] == "D"


# --- /driver/duty and /driver/ ------------------------------------------------------------


def linked(fixture) -> Driver:
    with schema_context(fixture.tenant.schema_name):
        return driver_for(fixture.user_ids[fixture.driver_email], name="Dana Duty")


def on_duty(fixture, driver: Driver) -> bool | None:
    with schema_context(fixture.tenant.schema_name):
        duty = Duty.objects.filter(driver=driver).first()
        return None if duty is None else duty.on_duty


@pytest.mark.django_db
def test_the_driver_starts_and_ends_the_shift(alpha):
    driver = linked(alpha)
    client = login_client(alpha.host, alpha.driver_email)
    assert on_duty(alpha, driver) is None
    response = client.post("/driver/duty", {"on_duty": "1"})
    assert response.status_code == 302 and response["Location"] == "/driver/"
    assert on_duty(alpha, driver) is True
    response = client.post("/driver/duty", {"on_duty": "0"})
    assert response.status_code == 302
    assert on_duty(alpha, driver) is False
    client.post("/driver/duty", {"on_duty": "1"})
    client.post("/driver/duty", {})  # anything but "1" ends it
    assert on_duty(alpha, driver) is False
    with schema_context(alpha.tenant.schema_name):
        assert Duty.objects.filter(driver=driver).count() == 1
    assert client.get("/driver/duty").status_code == 405


@pytest.mark.django_db
def test_only_drivers_toggle_duty(alpha):
    driver = linked(alpha)
    for email in (alpha.dispatcher_email, alpha.owner_email):
        response = login_client(alpha.host, email).post("/driver/duty", {"on_duty": "1"})
        assert response.status_code == 403
    response = host_client(alpha.host).post("/driver/duty", {"on_duty": "1"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert on_duty(alpha, driver) is None


@pytest.mark.django_db
def test_a_driver_user_without_a_driver_gets_a_message_and_no_duty(alpha):
    client = login_client(alpha.host, alpha.driver_email)
    response = client.post("/driver/duty", {"on_duty": "1"}, follow=True)
    assert response.status_code == 200
    assert b"not linked to a driver" in response.content
    with schema_context(alpha.tenant.schema_name):
        assert not Duty.objects.exists()


@pytest.mark.django_db
def test_the_driver_page_offers_the_shift_and_a_token_only_on_duty(alpha, beta):
    driver = linked(alpha)
    client = login_client(alpha.host, alpha.driver_email)
    page = client.get("/driver/").content.decode()
    assert "Start shift" in page and "End shift" not in page
    assert "Off duty" in page and client.get("/driver/token").json()["token"] is None

    client.post("/driver/duty", {"on_duty": "1"})
    page = client.get("/driver/").content.decode()
    assert "End shift" in page and "Start shift" not in page
    assert "token" not in app_data(page)  # the page the phone keeps holds no credentials
    token = client.get("/driver/token").json()["token"]
    claim = read_driver_token(token, schema=alpha.tenant.schema_name)
    assert (claim.schema, claim.driver_id, claim.user_id) == (
        alpha.tenant.schema_name,
        driver.pk,
        alpha.user_ids[alpha.driver_email],
    )
    with pytest.raises(BadToken):
        read_driver_token(token, schema=beta.tenant.schema_name)
    assert app_data(page)["urls"]["pings"] == "/api/v1/driver/pings"
    assert app_data(page)["urls"]["stop"] == "/driver/stops"

    client.post("/driver/duty", {"on_duty": "0"})
    page = client.get("/driver/").content.decode()
    assert "Start shift" in page and client.get("/driver/token").json()["token"] is None


def app_data(page: str) -> dict:
    """What the driver app's page gives its script (json_script "driver-app-data")."""
    raw = page.split('id="driver-app-data" type="application/json">')[1].split("</script>")[0]
    return json.loads(raw)


# --- /driver/stops ---------------------------------------------------------------------------


def stop(client, json: bool = True, **data):
    headers = {"HTTP_ACCEPT": "application/json"} if json else {}
    return client.post("/driver/stops", data, **headers)


@pytest.mark.django_db
def test_a_stop_button_over_http(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("http", alpha.user_ids[alpha.driver_email])
        mine, theirs = orders_on(day.mine)[0], orders_on(day.other)[0]
        duty_set(driver=day.driver, on_duty=True)
    client = login_client(alpha.host, alpha.driver_email)

    response = stop(client, order=str(theirs), event="en_route")
    assert response.status_code == 400
    assert response.json() == {"errors": {"order": ["This order is not on your route."]}}
    response = stop(client, order="abc", event="en_route")
    assert response.status_code == 400
    assert response.json() == {"errors": {"order": ["Must be an order id."]}}
    response = stop(client, order=str(mine), event="beamed")
    assert response.status_code == 400 and set(response.json()["errors"]) == {"event"}
    response = stop(client, order=str(mine))
    assert response.status_code == 400 and set(response.json()["errors"]) == {"event"}

    response = stop(client, order=str(mine), event="en_route")
    assert response.status_code == 200 and response.json() == {"ok": True, "status": "en_route"}
    response = stop(client, order=str(mine), event="delivered", reason="Porch")
    assert response.status_code == 200 and response.json() == {"ok": True, "status": "delivered"}
    with schema_context(alpha.tenant.schema_name):
        assert Order.objects.get(pk=mine).status == OrderStatus.DELIVERED
        assert Order.objects.get(pk=theirs).status == OrderStatus.DISPATCHED

    # a form post (no JSON): back to the route page
    response = stop(client, json=False, order=str(theirs), event="en_route")
    assert response.status_code == 302 and response["Location"] == "/driver/"
    with schema_context(alpha.tenant.schema_name):
        assert Order.objects.get(pk=theirs).status == OrderStatus.DISPATCHED


@pytest.mark.django_db
def test_stop_buttons_are_for_linked_drivers_only(alpha):
    client = login_client(alpha.host, alpha.driver_email)
    response = stop(client, order="1", event="en_route")
    assert response.status_code == 400
    assert response.json() == {"errors": {"driver": ["Your account is not linked to a driver."]}}
    response = stop(login_client(alpha.host, alpha.dispatcher_email), order="1", event="en_route")
    assert response.status_code == 403
    assert client.get("/driver/stops").status_code == 405


# --- /live/ -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_live_map_is_for_dispatchers(alpha):
    for email in (alpha.dispatcher_email, alpha.owner_email):
        assert login_client(alpha.host, email).get("/live/").status_code == 200
    assert login_client(alpha.host, alpha.driver_email).get("/live/").status_code == 403
    response = host_client(alpha.host).get("/live/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# --- tracking links -----------------------------------------------------------------------------


def an_order(name: str, pk: int | None = None) -> Order:
    return Order.objects.create(
        pk=pk,
        customer_name=name,
        address_line1="1 High Street",
        city="London",
        delivery_date=DAY,
        lat=51.5,
        lng=-0.12,
    )


@pytest.mark.django_db
def test_an_orders_tracking_link_is_made_once(alpha):
    with schema_context(alpha.tenant.schema_name):
        first, second = an_order("Link one"), an_order("Link two")
        token = tracking_link_for(first)
        assert len(token) == 43 and re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        assert tracking_link_for(first) == token
        assert tracking_link_for(Order.objects.get(pk=first.pk)) == token
        other = tracking_link_for(second)
        assert len(other) == 43 and other != token
    links = TrackingLink.objects.filter(tenant=alpha.tenant, order_id__in=[first.pk, second.pk])
    assert sorted(links.values_list("order_id", "token")) == sorted(
        [(first.pk, token), (second.pk, other)]
    )


@pytest.mark.django_db
def test_tracking_links_are_per_tenant_though_order_ids_repeat(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        ours = an_order("Ours")
        our_token = tracking_link_for(ours)
    with schema_context(beta.tenant.schema_name):
        theirs = an_order("Theirs", pk=ours.pk)  # the same id in beta's schema
        their_token = tracking_link_for(theirs)
        assert their_token != our_token
        assert tracking_link_for(theirs) == their_token
    rows = TrackingLink.objects.filter(order_id=ours.pk)
    assert sorted((r.tenant_id, r.token) for r in rows) == sorted(
        [(alpha.tenant.pk, our_token), (beta.tenant.pk, their_token)]
    )
    with schema_context(alpha.tenant.schema_name):
        assert tracking_link_for(ours) == our_token  # beta's link changed nothing of ours
