"""The tracking API: the phone's offline batches (driver token only, own tenant only, on
duty only) and the positions snapshot (dispatchers and API keys)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django_tenants.utils import schema_context

from tests.conftest import api_client, login_client
from tests.tracking.helpers import ago, driver_for, fix
from tracking.models import DriverPosition, LocationPing
from tracking.services.day import duty_set, fixes_store
from tracking.services.tokens import driver_token

PINGS = "/api/v1/driver/pings"
POSITIONS = "/api/v1/positions"


def linked_driver(fixture, *, on_duty: bool = True, pk: int | None = None, name="Dana"):
    """A driver of `fixture`'s tenant signed in as its driver user, and their token."""
    user_id = fixture.user_ids[fixture.driver_email]
    with schema_context(fixture.tenant.schema_name):
        driver = driver_for(user_id, name=name) if pk is None else driver_with_pk(pk, user_id)
        duty_set(driver=driver, on_duty=on_duty)
    token = driver_token(schema=fixture.tenant.schema_name, driver_id=driver.pk, user_id=user_id)
    return driver, token


def driver_with_pk(pk: int, user_id: int):
    from dispatch.models import Driver

    return Driver.objects.create(pk=pk, name="Same id", user_id=user_id)


def phone(host: str, token: str | None = None, keyword: str = "Driver"):
    client = api_client(host)
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"{keyword} {token}")
    return client


def send(client, fixes, **extra):
    return client.post(PINGS, {"fixes": fixes}, format="json", **extra)


def item(at: dt.datetime, lat: float = 51.5, lng: float = -0.12, **extra) -> dict:
    return {"t": at.isoformat(), "lat": lat, "lng": lng, **extra}


def stored_pings(fixture, driver_id=None) -> int:
    with schema_context(fixture.tenant.schema_name):
        rows = LocationPing.objects.all()
        return (rows.filter(driver_id=driver_id) if driver_id else rows).count()


# --- POST /api/v1/driver/pings: who -------------------------------------------------------


@pytest.mark.django_db
def test_no_token_is_refused(alpha):
    linked_driver(alpha)
    response = send(api_client(alpha.host), [item(ago(minutes=1))])
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Driver"
    assert response.json()["code"] == "not_authenticated"
    assert stored_pings(alpha) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Driver forged", "Driver", "Driver a b", "Driver eyJzIjoiYWxwaGEifQ:1tX:abc"],
)
def test_a_forged_or_malformed_driver_token_is_refused(alpha, header):
    linked_driver(alpha)
    client = api_client(alpha.host)
    client.credentials(HTTP_AUTHORIZATION=header)
    response = send(client, [item(ago(minutes=1))])
    assert response.status_code == 401, response.content
    assert stored_pings(alpha) == 0


@pytest.mark.django_db
def test_a_token_signed_with_another_salt_or_key_is_refused(alpha, settings):
    from django.core import signing

    driver, _ = linked_driver(alpha)
    claim = {"s": alpha.tenant.schema_name, "d": driver.pk, "u": driver.user_id}
    for token in (
        signing.dumps(claim, salt="another-salt", compress=True),
        signing.dumps(claim, key="not-the-secret-key", salt="tracking.driver-token"),
    ):
        assert send(phone(alpha.host, token), [item(ago(minutes=1))]).status_code == 401
    assert stored_pings(alpha) == 0


@pytest.mark.django_db
def test_another_tenants_token_is_refused_though_the_ids_match(alpha, beta):
    ours, _ = linked_driver(alpha)
    # beta's driver: the same driver id and (ids repeat across schemas) the same user id
    assert alpha.user_ids[alpha.driver_email] == beta.user_ids[beta.driver_email]
    theirs, their_token = linked_driver(beta, pk=ours.pk)
    assert (theirs.pk, theirs.user_id) == (ours.pk, ours.user_id)

    response = send(phone(alpha.host, their_token), [item(ago(minutes=1))])
    assert response.status_code == 401
    assert "another tenant" in response.json()["detail"]
    assert stored_pings(alpha) == 0 and stored_pings(beta) == 0

    # on its own host it is good
    response = send(phone(beta.host, their_token), [item(ago(minutes=1))])
    assert response.status_code == 200 and response.json()["stored"] == 1
    assert stored_pings(beta, theirs.pk) == 1 and stored_pings(alpha) == 0


@pytest.mark.django_db
def test_a_driver_no_longer_linked_or_active_is_refused(alpha):
    from dispatch.models import Driver

    driver, token = linked_driver(alpha)
    with schema_context(alpha.tenant.schema_name):
        Driver.objects.filter(pk=driver.pk).update(is_active=False)
    assert send(phone(alpha.host, token), [item(ago(minutes=1))]).status_code == 401
    with schema_context(alpha.tenant.schema_name):
        Driver.objects.filter(pk=driver.pk).update(is_active=True, user=None)
    assert send(phone(alpha.host, token), [item(ago(minutes=1))]).status_code == 401
    assert stored_pings(alpha) == 0


@pytest.mark.django_db
def test_an_expired_token_is_refused(alpha, settings):
    _, token = linked_driver(alpha)
    settings.DRIVER_TOKEN_MAX_AGE_S = -1
    response = send(phone(alpha.host, token), [item(ago(minutes=1))])
    assert response.status_code == 401 and "expired" in response.json()["detail"]


@pytest.mark.django_db
def test_a_driver_off_duty_may_not_send(alpha):
    driver, token = linked_driver(alpha, on_duty=False)
    response = send(phone(alpha.host, token), [item(ago(minutes=1))])
    assert response.status_code == 403
    assert response.json()["detail"] == "You are off duty."
    assert stored_pings(alpha) == 0
    with schema_context(alpha.tenant.schema_name):
        duty_set(driver=driver, on_duty=True)
    assert send(phone(alpha.host, token), [item(ago(minutes=1))]).status_code == 200
    assert stored_pings(alpha, driver.pk) == 1


@pytest.mark.django_db
def test_api_keys_and_dispatcher_logins_may_not_post_pings(alpha):
    linked_driver(alpha)
    for key in (alpha.api_key, alpha.read_key):
        response = send(api_client(alpha.host, key), [item(ago(minutes=1))])
        assert response.status_code in (401, 403), response.content
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    response = dispatcher.post(
        PINGS, json.dumps({"fixes": [item(ago(minutes=1))]}), content_type="application/json"
    )
    assert response.status_code in (401, 403)
    driver_session = login_client(alpha.host, alpha.driver_email)
    response = driver_session.post(
        PINGS, json.dumps({"fixes": [item(ago(minutes=1))]}), content_type="application/json"
    )
    assert response.status_code in (401, 403)  # the app sends its token, not the cookie
    assert stored_pings(alpha) == 0


# --- POST /api/v1/driver/pings: what --------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_with_repeats_and_in_any_order_is_stored_once_newest_on_the_map(alpha):
    driver, token = linked_driver(alpha)
    client = phone(alpha.host, token)
    base = ago(minutes=10)
    t = [base + dt.timedelta(seconds=30 * k) for k in range(4)]
    batch = [
        item(t[2], 51.52, speed_mps=4.5, heading_deg=90),
        item(t[0], 51.50),
        {"t": int(t[1].timestamp() * 1000), "lat": 51.51, "lng": -0.12},  # epoch ms
        item(t[2], 51.52, speed_mps=4.5, heading_deg=90),  # the same fix again
        item(t[0], 51.50),
    ]
    response = send(client, batch)
    assert response.status_code == 200, response.content
    assert response.json() == {"received": 5, "stored": 3, "duplicates": 2, "rejected": []}
    with schema_context(alpha.tenant.schema_name):
        position = DriverPosition.objects.get(driver_id=driver.pk)
        assert (position.recorded_at, position.lat, position.speed_mps, position.heading_deg) == (
            t[2],
            51.52,
            4.5,
            90.0,
        )
        seqs = dict(
            LocationPing.objects.filter(driver_id=driver.pk).values_list("recorded_at", "seq")
        )
        assert sorted(seqs) == [t[0], t[1], t[2]]
        assert position.seq == seqs[t[2]]

    # later, an older batch (sent from an outbox) with one fix already stored
    response = send(client, [item(t[1], 51.51), item(base - dt.timedelta(minutes=5), 51.40)])
    assert response.json() == {"received": 2, "stored": 1, "duplicates": 1, "rejected": []}
    # and a newer one
    response = send(client, [item(t[3], 51.53)])
    assert response.json() == {"received": 1, "stored": 1, "duplicates": 0, "rejected": []}
    with schema_context(alpha.tenant.schema_name):
        position = DriverPosition.objects.get(driver_id=driver.pk)
        assert (position.recorded_at, position.lat) == (t[3], 51.53)
        assert position.speed_mps is None  # the whole fix, not a merge
        assert LocationPing.objects.filter(driver_id=driver.pk).count() == 5
        newest = LocationPing.objects.get(driver_id=driver.pk, recorded_at=t[3])
        assert position.seq == newest.seq
        assert newest.seq == max(LocationPing.objects.values_list("seq", flat=True))


@pytest.mark.django_db
def test_an_older_batch_does_not_take_the_map_back(alpha):
    driver, token = linked_driver(alpha)
    client = phone(alpha.host, token)
    newest = ago(minutes=1)
    assert send(client, [item(newest, 52.0, 0.1)]).json()["stored"] == 1
    response = send(client, [item(newest - dt.timedelta(minutes=k), 50 + k) for k in (3, 2, 1)])
    assert response.json() == {"received": 3, "stored": 3, "duplicates": 0, "rejected": []}
    with schema_context(alpha.tenant.schema_name):
        position = DriverPosition.objects.get(driver_id=driver.pk)
        assert (position.recorded_at, position.lat, position.lng) == (newest, 52.0, 0.1)


@pytest.mark.django_db
def test_bad_fixes_are_rejected_by_index_and_the_good_ones_stored(alpha):
    driver, token = linked_driver(alpha)
    at = ago(minutes=2)
    batch = [
        item(at, 51.5),
        item(at + dt.timedelta(seconds=5), 91),  # lat out of range
        "junk",
        {"t": "2026-12-01T09:00:00", "lat": 51.5, "lng": -0.12},  # naive
        item(at + dt.timedelta(seconds=10), 51.6, heading_deg=361),
        item(at + dt.timedelta(seconds=15), 51.7),
    ]
    response = send(phone(alpha.host, token), batch)
    assert response.status_code == 200
    body = response.json()
    assert (body["received"], body["stored"], body["duplicates"]) == (6, 2, 0)
    assert body["rejected"] == [
        {"index": 1, "errors": {"lat": ["Between -90 and 90."]}},
        {"index": 2, "errors": {"fix": ["Must be an object."]}},
        {"index": 3, "errors": {"t": ["Needs a UTC offset."]}},
        {"index": 4, "errors": {"heading_deg": ["Between 0 and 360."]}},
    ]
    with schema_context(alpha.tenant.schema_name):
        stored = sorted(
            LocationPing.objects.filter(driver_id=driver.pk).values_list("recorded_at", "lat")
        )
        assert stored == [(at, 51.5), (at + dt.timedelta(seconds=15), 51.7)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"fixes": "not a list"},
        {"fixes": {"t": 1, "lat": 1, "lng": 1}},
        {"fixes": None},
        {},
        {"fix": []},
        [{"t": "2026-11-01T00:00:00+00:00", "lat": 1, "lng": 1}],  # a bare list
        "fixes",
        7,
    ],
)
def test_a_body_without_a_list_of_fixes_is_a_400_with_field_errors(alpha, body):
    _, token = linked_driver(alpha)
    response = phone(alpha.host, token).post(PINGS, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {"fixes": ["Must be a list."]}
    assert stored_pings(alpha) == 0


@pytest.mark.django_db
def test_a_batch_over_the_limit_or_not_json_is_a_400(alpha):
    _, token = linked_driver(alpha)
    client = phone(alpha.host, token)
    response = send(client, [item(ago(minutes=1))] * 5001)
    assert response.status_code == 400
    assert response.json()["errors"] == {"fixes": ["At most 5000 per request."]}
    response = client.post(PINGS, "{not json", content_type="application/json")
    assert response.status_code == 400
    response = client.post(
        PINGS, '{"fixes": [{"t": NaN, "lat": 1, "lng": 1}]}', content_type="application/json"
    )
    assert response.status_code == 400
    assert stored_pings(alpha) == 0


@pytest.mark.django_db
def test_a_fix_with_a_huge_integer_is_rejected_not_a_500(alpha):
    _, token = linked_driver(alpha)
    body = '{"fixes": [{"t": "%s", "lat": 1%s, "lng": 1}]}' % (  # noqa: UP031
        ago(minutes=1).isoformat(),
        "0" * 400,
    )
    response = phone(alpha.host, token).post(PINGS, body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["rejected"] == [{"index": 0, "errors": {"lat": ["Must be a number."]}}]


# --- GET /api/v1/positions ----------------------------------------------------------------


def two_positions(fixture):
    """Ann and Bob of `fixture`'s tenant with positions; returns what the snapshot shows."""
    with schema_context(fixture.tenant.schema_name):
        bob, ann = driver_for(name="Bob Tracked"), driver_for(name="Ann Tracked")
        t0, t1 = ago(minutes=3), ago(minutes=1)
        fixes_store(
            [
                (bob.pk, fix(t0, 51.4, -0.2, accuracy_m=12.0), 1_000),
                (ann.pk, fix(t0, 51.6, -0.1), 1_001),
                (ann.pk, fix(t1, 51.7, -0.05, speed_mps=8.0, heading_deg=180.0), 1_002),
            ]
        )
    return [
        {
            "driver": ann.pk,
            "name": "Ann Tracked",
            "lat": 51.7,
            "lng": -0.05,
            "accuracy_m": None,
            "speed_mps": 8.0,
            "heading_deg": 180.0,
            "t": t1.isoformat(),
            "seq": 1_002,
        },
        {
            "driver": bob.pk,
            "name": "Bob Tracked",
            "lat": 51.4,
            "lng": -0.2,
            "accuracy_m": 12.0,
            "speed_mps": None,
            "heading_deg": None,
            "t": t0.isoformat(),
            "seq": 1_000,
        },
    ]


def normalised(body: dict) -> dict:
    """`t` as an instant (the server may write another offset for the same time)."""
    return {
        **body,
        "positions": [
            {**p, "t": dt.datetime.fromisoformat(p["t"]).astimezone(dt.UTC).isoformat()}
            for p in body["positions"]
        ],
    }


@pytest.mark.django_db
def test_dispatchers_and_api_keys_read_the_snapshot(alpha):
    expected = {"positions": two_positions(alpha), "seq": 1_002}
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    response = dispatcher.get(POSITIONS)
    assert response.status_code == 200
    assert normalised(response.json()) == expected
    for key in (alpha.read_key, alpha.api_key):
        response = api_client(alpha.host, key).get(POSITIONS)
        assert response.status_code == 200
        assert normalised(response.json()) == expected


@pytest.mark.django_db
def test_an_empty_snapshot_has_seq_zero(alpha):
    response = api_client(alpha.host, alpha.read_key).get(POSITIONS)
    assert response.status_code == 200 and response.json() == {"positions": [], "seq": 0}


@pytest.mark.django_db
def test_drivers_and_strangers_do_not_read_the_snapshot(alpha):
    two_positions(alpha)
    _, token = linked_driver(alpha)
    assert login_client(alpha.host, alpha.driver_email).get(POSITIONS).status_code == 403
    assert phone(alpha.host, token).get(POSITIONS).status_code in (401, 403)
    assert api_client(alpha.host).get(POSITIONS).status_code in (401, 403)


@pytest.mark.django_db
def test_another_tenants_key_sees_none_of_our_positions(alpha, beta):
    ours = two_positions(alpha)
    response = api_client(beta.host, beta.read_key).get(POSITIONS)
    assert response.status_code == 200
    assert response.json() == {"positions": [], "seq": 0}
    # beta's own drivers: only theirs
    theirs = two_positions(beta)
    body = normalised(api_client(beta.host, beta.read_key).get(POSITIONS).json())
    assert body == {"positions": theirs, "seq": 1_002}
    with schema_context(alpha.tenant.schema_name):
        assert DriverPosition.objects.count() == len(ours)
    # beta's key on alpha's host: refused
    assert api_client(alpha.host, beta.read_key).get(POSITIONS).status_code == 401
    assert login_client(beta.host, beta.dispatcher_email).get(POSITIONS).json()["seq"] == 1_002
