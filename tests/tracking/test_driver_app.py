"""The driver app's server side: stop events kept offline and sent later (exactly once,
at the phone's time), parcel scans, the navigation app, fresh credentials, the manifest and
the service worker; every endpoint for the driver of this tenant only."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Order, OrderEvent, OrderStatus
from dispatch.selectors.codes import label_code
from dispatch.services.orders import order_transition
from proofs.models import DeliveryProof
from tests.conftest import host_client, login_client
from tests.tracking.helpers import orders_on, solved_day
from tracking.models import DriverReport, DriverSettings, ParcelScan
from tracking.services import driver_app
from tracking.services.day import duty_set
from tracking.services.tokens import read_driver_token


def day_for(fixture, prefix: str = "app"):
    with schema_context(fixture.tenant.schema_name):
        day = solved_day(prefix, fixture.user_ids[fixture.driver_email])
        duty_set(driver=day.driver, on_duty=True)
        day.mine_ids, day.other_ids = orders_on(day.mine), orders_on(day.other)
        # planned and dispatched this morning: the driver's taps come after
        OrderEvent.objects.update(created_at=F("created_at") - dt.timedelta(hours=3))
    return day


def report(client, **data):
    return client.post("/driver/stops", data, HTTP_ACCEPT="application/json")


def ms(at: dt.datetime) -> str:
    return str(int(at.timestamp() * 1000))


@pytest.mark.django_db
def test_a_stop_event_sent_again_is_recorded_once_at_the_phone_time(alpha):
    day = day_for(alpha)
    mine = day.mine_ids[0]
    client = login_client(alpha.host, alpha.driver_email)
    key, tapped = str(uuid.uuid4()), timezone.now() - dt.timedelta(minutes=40)
    for _ in range(3):  # the answer lost twice: the phone sends it again
        response = report(client, key=key, order=str(mine), event="en_route", t=ms(tapped))
        assert response.status_code == 200
        assert response.json() == {"ok": True, "status": "en_route"}
    with schema_context(alpha.tenant.schema_name):
        events = OrderEvent.objects.filter(order_id=mine, to_status="en_route")
        assert events.count() == 1
        assert abs(events.get().created_at - tapped) < dt.timedelta(milliseconds=2)
        assert DriverReport.objects.filter(key=key).count() == 1


@pytest.mark.django_db
def test_a_refused_event_is_refused_the_same_way_when_sent_again(alpha):
    day = day_for(alpha)
    theirs = day.other_ids[0]
    client = login_client(alpha.host, alpha.driver_email)
    key = str(uuid.uuid4())
    first = report(client, key=key, order=str(theirs), event="en_route")
    again = report(client, key=key, order=str(theirs), event="en_route")
    assert first.status_code == again.status_code == 400
    assert (
        first.json() == again.json() == {"errors": {"order": ["This order is not on your route."]}}
    )
    with schema_context(alpha.tenant.schema_name):
        assert Order.objects.get(pk=theirs).status == OrderStatus.DISPATCHED
        assert DriverReport.objects.get(key=key).errors == {
            "order": ["This order is not on your route."]
        }


@pytest.mark.django_db
def test_bad_events_get_field_errors(alpha):
    day = day_for(alpha)
    mine = str(day.mine_ids[0])
    client = login_client(alpha.host, alpha.driver_email)
    cases = [
        ({"key": "not-a-uuid", "order": mine, "event": "en_route"}, {"key"}),
        ({"key": str(uuid.uuid4()), "order": "x", "event": "en_route"}, {"order"}),
        ({"key": str(uuid.uuid4()), "order": mine, "event": "en_route", "t": "soon"}, {"t"}),
        (
            {"key": str(uuid.uuid4()), "order": mine, "event": "en_route", "t": "4102444800000"},
            {"t"},
        ),
        ({"key": str(uuid.uuid4()), "order": "²", "event": "en_route"}, {"order"}),
        ({"key": str(uuid.uuid4()), "order": "9" * 5000, "event": "en_route"}, {"order"}),
        ({"key": str(uuid.uuid4()), "order": str(2**63), "event": "en_route"}, {"order"}),
        ({"key": str(uuid.uuid4()), "order": mine, "event": "en\x00route"}, {"event"}),
        ({"key": str(uuid.uuid4()), "order": mine, "event": "en_route", "t": "①"}, {"t"}),
        ({"key": str(uuid.uuid4()), "order": mine, "event": "en_route", "t": "9" * 5000}, {"t"}),
        ({"key": str(uuid.uuid4()), "order": mine, "event": "en_route", "sent": "x"}, {"sent"}),
    ]
    for data, fields in cases:
        response = report(client, **data)
        assert response.status_code == 400, data
        assert set(response.json()["errors"]) == fields, data
    with schema_context(alpha.tenant.schema_name):
        assert not DriverReport.objects.exists()  # nothing half-kept
    # a reason PostgreSQL cannot store: refused by the stop rule, and so on every resend
    key = str(uuid.uuid4())
    for _ in range(2):
        response = report(client, key=key, order=mine, event="failed", reason="a\x00")
        assert response.status_code == 400 and set(response.json()["errors"]) == {"reason"}
    # without a key (a plain form), the same rule
    for order in ("²", "9" * 5000):
        response = report(client, order=order, event="en_route")
        assert response.status_code == 400 and set(response.json()["errors"]) == {"order"}
    # a key used for one order is not another order's
    key = str(uuid.uuid4())
    assert report(client, key=key, order=mine, event="en_route").status_code == 200
    second = str(day.mine_ids[1])
    response = report(client, key=key, order=second, event="en_route")
    assert response.status_code == 400 and set(response.json()["errors"]) == {"key"}


@pytest.mark.django_db
def test_event_times_stay_between_the_previous_event_and_now(alpha):
    day = day_for(alpha)
    mine = day.mine_ids[0]
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.get(pk=mine)
        dispatched = order.events.order_by("-created_at").first().created_at
        way_back = dispatched - dt.timedelta(hours=1)  # a phone clock behind
        order = order_transition(order=order, to="en_route", actor="t", at=way_back)
        assert order.events.order_by("-created_at").first().created_at == dispatched
        ahead = timezone.now() + dt.timedelta(minutes=3)
        order_transition(order=order, to="arrived", actor="t", at=ahead)
        assert order.events.order_by("-created_at").first().created_at <= timezone.now()
    with pytest.raises(ValidationError):
        driver_app.phone_time("4102444800000")
    with pytest.raises(ValidationError):  # year 9999, sent in 1970: no overflow, a 400
        driver_app.phone_time("253402300799000", sent="0")
    # a phone ten minutes fast: its times are put on the server's clock by when it sent them
    now = timezone.now()
    fast = dt.timedelta(minutes=10)
    tapped = now - dt.timedelta(minutes=30)
    at = driver_app.phone_time(ms(tapped + fast), sent=ms(now + fast), now=now)
    assert abs(at - tapped) < dt.timedelta(milliseconds=2)
    assert timezone.now() - driver_app.phone_time(None) < dt.timedelta(seconds=1)
    old = timezone.now() - dt.timedelta(days=5)  # a phone clock years off: now
    assert timezone.now() - driver_app.phone_time(ms(old)) < dt.timedelta(seconds=1)
    naive = dt.datetime(2026, 1, 1, 9, 0).isoformat()
    with pytest.raises(ValidationError):
        driver_app.phone_time(naive)


def scan(client, **data):
    return client.post("/driver/scans", data, HTTP_ACCEPT="application/json")


@pytest.mark.django_db
def test_scans_name_the_order_and_say_whether_it_was_the_one_expected(alpha):
    day = day_for(alpha)
    first, second = day.mine_ids[:2]
    theirs = day.other_ids[0]
    with schema_context(alpha.tenant.schema_name):
        Order.objects.filter(pk=second).update(barcodes=["0123456789012"])
        Order.objects.filter(pk=theirs).update(barcodes=["9999999999999"])
        code = label_code(Order.objects.get(pk=first))
    client = login_client(alpha.host, alpha.driver_email)
    assert code == f"{alpha.tenant.schema_name.upper()}-{first}"

    answers = [
        scan(client, key=str(uuid.uuid4()), code=code, stage="pickup").json(),
        scan(client, key=str(uuid.uuid4()), code=code.lower(), stage="pickup").json(),
        scan(client, key=str(uuid.uuid4()), code="0123456789012", stage="pickup").json(),
        scan(client, key=str(uuid.uuid4()), code="9999999999999", stage="pickup").json(),
        scan(client, key=str(uuid.uuid4()), code="nobody's", stage="pickup").json(),
        scan(
            client, key=str(uuid.uuid4()), code="0123456789012", stage="door", expected=str(first)
        ).json(),
        scan(client, key=str(uuid.uuid4()), code=code, stage="door", expected=str(first)).json(),
    ]
    assert answers == [
        {"ok": True, "order": first, "matched": True},
        {"ok": True, "order": first, "matched": True},  # labels are read in any case
        {"ok": True, "order": second, "matched": True},  # the store's own code
        {"ok": True, "order": None, "matched": False},  # another driver's parcel
        {"ok": True, "order": None, "matched": False},
        {"ok": True, "order": second, "matched": False},  # the wrong parcel at the door
        {"ok": True, "order": first, "matched": True},
    ]
    key = str(uuid.uuid4())
    for _ in range(2):
        assert scan(client, key=key, code=code, stage="pickup").status_code == 200
    with schema_context(alpha.tenant.schema_name):
        assert ParcelScan.objects.filter(key=key).count() == 1
        assert driver_app.loaded_orders(day.driver, [first, second, theirs]) == {first, second}


@pytest.mark.django_db
def test_bad_scans_get_field_errors(alpha):
    day = day_for(alpha)
    theirs = day.other_ids[0]
    client = login_client(alpha.host, alpha.driver_email)
    cases = [
        ({"code": "", "stage": "pickup"}, {"code"}),
        ({"code": "x" * 129, "stage": "pickup"}, {"code"}),
        ({"code": "a\x07b", "stage": "pickup"}, {"code"}),
        ({"code": "A-1", "stage": "hallway"}, {"stage"}),
        ({"code": "A-1", "stage": "door"}, {"expected"}),
        ({"code": "A-1", "stage": "door", "expected": str(theirs)}, {"expected"}),
        ({"code": "A-1", "stage": "door", "expected": "first"}, {"expected"}),
        ({"code": "A-1", "stage": "door", "expected": "²"}, {"expected"}),
        ({"code": "A-1", "stage": "pickup", "t": "9" * 5000}, {"t"}),
        ({"code": f"{alpha.tenant.schema_name.upper()}-²", "stage": "pickup"}, set()),
    ]
    for data, fields in cases:
        response = scan(client, key=str(uuid.uuid4()), **data)
        if not fields:  # a label-looking code that is no label: a stranger's parcel
            assert response.json() == {"ok": True, "order": None, "matched": False}
            continue
        assert response.status_code == 400, data
        assert set(response.json()["errors"]) == fields, data
    assert scan(client, key="nope", code="A-1", stage="pickup").status_code == 400
    assert client.get("/driver/scans").status_code == 405


@pytest.mark.django_db
def test_another_tenants_label_is_not_a_parcel_of_this_route(alpha, beta):
    """Order ids repeat across tenants: a label of alpha's naming the id of an order on
    beta's route, read in beta's app, is a stranger's parcel."""
    beta_day = day_for(beta, "same")
    order_id = beta_day.mine_ids[0]
    alpha_label = f"{alpha.tenant.schema_name.upper()}-{order_id}"
    response = scan(
        login_client(beta.host, beta.driver_email),
        key=str(uuid.uuid4()),
        code=alpha_label,
        stage="pickup",
    )
    assert response.json() == {"ok": True, "order": None, "matched": False}
    # alpha's driver's session is not a session on beta's host
    alpha_client = login_client(alpha.host, alpha.driver_email)
    alpha_client.defaults["HTTP_HOST"] = beta.host
    for path in ("/driver/scans", "/driver/stops", "/driver/settings"):
        response = alpha_client.post(path, {"key": str(uuid.uuid4())})
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert alpha_client.get("/driver/token").status_code == 302


@pytest.mark.django_db
def test_the_driver_chooses_the_navigation_app(alpha):
    day = day_for(alpha)
    client = login_client(alpha.host, alpha.driver_email)
    data = page_data(client)
    assert data["navigation"] == "google"
    assert set(data["navigation_urls"]) == {"google", "apple", "waze"}
    response = client.post(
        "/driver/settings", {"navigation_app": "waze"}, HTTP_ACCEPT="application/json"
    )
    assert response.json() == {"ok": True, "navigation_app": "waze"}
    assert page_data(client)["navigation"] == "waze"
    response = client.post("/driver/settings", {"navigation_app": "carrier pigeon"})
    assert response.status_code == 302  # a plain form: the message on the route page
    response = client.post(
        "/driver/settings", {"navigation_app": "carrier pigeon"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400 and set(response.json()["errors"]) == {"navigation_app"}
    with schema_context(alpha.tenant.schema_name):
        assert DriverSettings.objects.get(driver=day.driver).navigation_app == "waze"
    for email in (alpha.dispatcher_email, alpha.owner_email):
        other = login_client(alpha.host, email)
        assert other.post("/driver/settings", {"navigation_app": "waze"}).status_code == 403


def page_data(client) -> dict:
    page = client.get("/driver/").content.decode()
    raw = page.split('id="driver-app-data" type="application/json">')[1].split("</script>")[0]
    return json.loads(raw)


@pytest.mark.django_db
def test_the_page_gives_the_app_what_it_needs_offline(alpha):
    day = day_for(alpha)
    client = login_client(alpha.host, alpha.driver_email)
    data = page_data(client)
    mine = day.mine_ids
    assert [s["order"] for s in data["stops"]] == mine
    with schema_context(alpha.tenant.schema_name):
        first = Order.objects.get(pk=mine[0])
        assert data["stops"][0]["codes"] == [label_code(first)]
        assert data["stops"][0]["status"] == "dispatched"
    assert data["route"] == {
        "id": day.mine.pk,
        "version": day.mine.version,
        "date": str(day.plan.date),
    }
    assert data["urls"]["stop"] == "/driver/stops" and data["urls"]["sw"] == "/driver/sw.js"
    assert "token" not in data and data["on_duty"] is True and data["driver"] == day.driver.pk
    # the credentials come apart from the page the phone keeps
    fresh = client.get("/driver/token", HTTP_ACCEPT="application/json").json()
    assert fresh["on_duty"] is True and fresh["csrf"] and fresh["driver"] == day.driver.pk
    claim = read_driver_token(fresh["token"], schema=alpha.tenant.schema_name)
    assert claim.driver_id == day.driver.pk
    with schema_context(alpha.tenant.schema_name):
        duty_set(driver=day.driver, on_duty=False)
    assert client.get("/driver/token").json()["token"] is None


@pytest.mark.django_db
def test_the_manifest_and_the_service_worker(alpha):
    client = host_client(alpha.host)  # browsers fetch both without signing in
    manifest = client.get("/driver/manifest.webmanifest")
    assert manifest.status_code == 200
    assert manifest["Content-Type"] == "application/manifest+json"
    body = manifest.json()
    assert body["start_url"].startswith("/driver/") and body["scope"] == "/driver/"
    assert body["display"] == "standalone" and "Alpha Deliveries" in body["name"]
    assert {i["sizes"] for i in body["icons"]} >= {"192x192", "512x512"}
    worker = client.get("/driver/sw.js")
    assert worker.status_code == 200 and worker["Content-Type"] == "text/javascript"
    assert worker["Service-Worker-Allowed"] == "/driver/"
    assert worker["Cache-Control"] == "no-cache"
    text = worker.content.decode()
    config = json.loads(text.split("const CONFIG = ")[1].split(";\n")[0])
    assert config["schema"] == alpha.tenant.schema_name and config["app"] == "/driver/"
    assert "/static/js/driver.js" in config["shell"]
    assert "https://tile.openstreetmap.org" in worker["Content-Security-Policy"]
    assert client.post("/driver/sw.js").status_code == 405


@pytest.mark.django_db
def test_a_proof_from_the_outbox_answers_in_json(alpha, media):
    day = day_for(alpha)
    mine, theirs = day.mine_ids[0], day.other_ids[0]
    client = login_client(alpha.host, alpha.driver_email)
    tapped = timezone.now() - dt.timedelta(minutes=25)
    data = {"key": str(uuid.uuid4()), "outcome": "failed", "reason": "", "t": ms(tapped)}
    url = f"/driver/stops/{mine}/complete"
    response = client.post(url, data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and set(response.json()["errors"]) == {"reason"}
    data["reason"] = "Nobody home"
    for _ in range(2):  # the failed stop has left the route: the resend still gets its answer
        response = client.post(url, data, HTTP_ACCEPT="application/json")
        assert response.status_code == 200
        assert response.json()["ok"] is True and response.json()["status"] == "failed"
    with schema_context(alpha.tenant.schema_name):
        assert DeliveryProof.objects.filter(order_id=mine).count() == 1
        failed = OrderEvent.objects.get(order_id=mine, to_status="failed")
        assert abs(failed.created_at - tapped) < dt.timedelta(milliseconds=2)
    response = client.post(
        f"/driver/stops/{theirs}/complete",
        {**data, "key": str(uuid.uuid4())},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 404 and set(response.json()["errors"]) == {"order"}
    response = client.post(
        f"/driver/stops/{day.mine_ids[1]}/complete",
        {**data, "key": str(uuid.uuid4()), "notes": "a\x00b"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400 and set(response.json()["errors"]) == {"notes"}
