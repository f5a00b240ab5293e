"""Checking GPS fixes from phones, and storing them: once each, positions only forward."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from tests.tracking.helpers import ago, driver_for, fix
from tracking.models import DriverPosition, LocationPing
from tracking.services import day as services
from tracking.services.day import MAX_BATCH, Fix, fix_clean, fixes_clean, fixes_store, next_seq

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def good(**overrides):
    return {"t": "2026-12-01T11:00:00+00:00", "lat": 51.5, "lng": -0.12, **overrides}


def refused(data, *, now=NOW) -> dict:
    with pytest.raises(ValidationError) as exc:
        fix_clean(data, now=now)
    return exc.value.message_dict


# --- fix_clean ----------------------------------------------------------------------------


def test_an_iso_time_with_an_offset_is_read_as_that_instant():
    got = fix_clean(
        {
            "t": "2026-12-01T13:30:15.250+02:00",
            "lat": 51.5,
            "lng": -0.12,
            "accuracy_m": 8,
            "speed_mps": 6.5,
            "heading_deg": 270,
        },
        now=NOW,
    )
    assert got.recorded_at == dt.datetime(2026, 12, 1, 11, 30, 15, 250_000, tzinfo=dt.UTC)
    assert got.recorded_at.utcoffset() is not None
    assert (got.lat, got.lng, got.accuracy_m, got.speed_mps, got.heading_deg) == (
        51.5,
        -0.12,
        8.0,
        6.5,
        270.0,
    )
    assert isinstance(got.accuracy_m, float)  # ints become floats


def test_epoch_milliseconds_are_read_as_utc():
    ms = int(dt.datetime(2026, 12, 1, 9, 1, 0, 123_000, tzinfo=dt.UTC).timestamp() * 1000)
    got = fix_clean({"t": ms, "lat": 0, "lng": 0}, now=NOW)
    assert got.recorded_at == dt.datetime(2026, 12, 1, 9, 1, 0, 123_000, tzinfo=dt.UTC)
    assert got.recorded_at.tzinfo is not None
    assert (got.lat, got.lng) == (0.0, 0.0)
    assert got.accuracy_m is None and got.speed_mps is None and got.heading_deg is None


def test_the_limits_themselves_are_accepted():
    got = fix_clean(good(lat=-90, lng=180, heading_deg=360, speed_mps=0, accuracy_m=0), now=NOW)
    assert (got.lat, got.lng, got.heading_deg, got.speed_mps) == (-90.0, 180.0, 360.0, 0.0)
    # four minutes ahead: a drifting clock, accepted
    ahead = fix_clean(good(t=(NOW + dt.timedelta(minutes=4)).isoformat()), now=NOW)
    assert ahead.recorded_at == NOW + dt.timedelta(minutes=4)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (good(t="2026-12-01T11:00:00"), "t"),  # naive
        (good(t="2026-12-01"), "t"),  # a date: naive too
        (good(t=(NOW + dt.timedelta(minutes=5, seconds=1)).isoformat()), "t"),
        (good(t=int((NOW + dt.timedelta(minutes=6)).timestamp() * 1000)), "t"),
        (good(t="yesterday"), "t"),
        (good(t=True), "t"),
        (good(t=None), "t"),
        (good(t=float("nan")), "t"),
        (good(t=1e20), "t"),  # beyond what a datetime holds
        (good(lat=91), "lat"),
        (good(lat=-90.0001), "lat"),
        (good(lng=-181), "lng"),
        (good(lng=180.5), "lng"),
        (good(lat=float("nan")), "lat"),
        (good(lng=float("inf")), "lng"),
        (good(lat=True), "lat"),
        (good(lng=False), "lng"),
        (good(lat="51.5"), "lat"),
        (good(lng="-0.12"), "lng"),
        (good(lat=None), "lat"),
        ({"t": "2026-12-01T11:00:00+00:00", "lng": 1}, "lat"),
        (good(speed_mps=-0.1), "speed_mps"),
        (good(speed_mps="5"), "speed_mps"),
        (good(heading_deg=361), "heading_deg"),
        (good(heading_deg=-1), "heading_deg"),
        (good(accuracy_m=-1), "accuracy_m"),
        (good(accuracy_m=True), "accuracy_m"),
    ],
)
def test_a_bad_field_is_refused_by_name(data, field):
    errors = refused(data)
    assert set(errors) == {field}
    assert len(errors[field]) == 1 and errors[field][0]


def test_every_bad_field_is_named_at_once():
    errors = refused({"t": "2026-12-01T11:00:00", "lat": 91, "lng": "x", "heading_deg": 400})
    assert set(errors) == {"t", "lat", "lng", "heading_deg"}
    assert errors["t"] == ["Needs a UTC offset."]
    assert errors["lat"] == ["Between -90 and 90."]
    assert errors["lng"] == ["Must be a number."]
    assert errors["heading_deg"] == ["Between 0 and 360."]


def test_the_future_message_names_the_clock():
    errors = refused(good(t=(NOW + dt.timedelta(minutes=6)).isoformat()))
    assert errors == {"t": ["In the future: check the phone's clock."]}


@pytest.mark.parametrize("data", [None, [], "fix", 5, [("lat", 1)]])
def test_a_fix_that_is_not_an_object_is_refused(data):
    assert refused(data) == {"fix": ["Must be an object."]}


@pytest.mark.parametrize("field", ["lat", "lng", "speed_mps", "t"])
def test_an_integer_too_large_for_a_float_is_refused_not_crashing(field):
    errors = refused(good(**{field: 10**400}))
    assert set(errors) == {field}


# --- fixes_clean --------------------------------------------------------------------------


@pytest.mark.parametrize("items", [None, {"t": 1}, "[]", 3, (good(),)])
def test_a_batch_that_is_not_a_list_is_refused(items):
    with pytest.raises(ValidationError) as exc:
        fixes_clean(items)
    assert exc.value.message_dict == {"fixes": ["Must be a list."]}


def test_a_batch_over_the_limit_is_refused_and_the_limit_is_accepted():
    item = good(t=ago(hours=1).isoformat())  # checked against now: never in its future
    with pytest.raises(ValidationError) as exc:
        fixes_clean([item] * (MAX_BATCH + 1))
    assert exc.value.message_dict == {"fixes": [f"At most {MAX_BATCH} per request."]}
    assert MAX_BATCH == 5000
    ok, bad = fixes_clean([item] * MAX_BATCH)
    assert len(ok) == MAX_BATCH and bad == []


def test_good_fixes_are_kept_and_bad_ones_listed_by_index():
    t0 = ago(minutes=3)
    items = [
        {"t": t0.isoformat(), "lat": 51.5, "lng": -0.12},
        {"t": t0.isoformat(), "lat": 91, "lng": -0.12},
        "not a fix",
        {"t": int(t0.timestamp() * 1000) + 1000, "lat": 51.6, "lng": -0.13},
        {"lat": 51.5, "lng": -200},
    ]
    ok, bad = fixes_clean(items)
    assert ok == [
        Fix(t0, 51.5, -0.12),
        Fix(t0 + dt.timedelta(seconds=1), 51.6, -0.13),
    ]
    assert [b["index"] for b in bad] == [1, 2, 4]
    assert bad[0] == {"index": 1, "errors": {"lat": ["Between -90 and 90."]}}
    assert bad[1] == {"index": 2, "errors": {"fix": ["Must be an object."]}}
    assert set(bad[2]["errors"]) == {"t", "lng"}
    assert fixes_clean([]) == ([], [])


# --- fixes_store --------------------------------------------------------------------------


def pings(driver_id: int) -> list[tuple[dt.datetime, float, int]]:
    return list(
        LocationPing.objects.filter(driver_id=driver_id)
        .order_by("recorded_at")
        .values_list("recorded_at", "lat", "seq")
    )


@pytest.mark.django_db
def test_a_fix_sent_twice_is_stored_once(alpha):
    with schema_context(alpha.tenant.schema_name):
        driver = driver_for()
        t0, t1 = ago(minutes=2), ago(minutes=1)
        first = fixes_store([(driver.pk, fix(t0, 51.50), 101), (driver.pk, fix(t1, 51.51), 102)])
        assert sorted((d, f.recorded_at, s) for d, f, s in first.new) == [
            (driver.pk, t0, 101),
            (driver.pk, t1, 102),
        ]
        assert first.moved == {driver.pk}

        # sent again (a retry), with one fix more: only that one is new
        t2 = ago(seconds=30)
        again = fixes_store(
            [
                (driver.pk, fix(t0, 51.50), 201),
                (driver.pk, fix(t1, 51.51), 202),
                (driver.pk, fix(t2, 51.52), 203),
            ]
        )
        assert [(d, f.recorded_at, s) for d, f, s in again.new] == [(driver.pk, t2, 203)]
        assert again.moved == {driver.pk}
        assert pings(driver.pk) == [(t0, 51.50, 101), (t1, 51.51, 102), (t2, 51.52, 203)]

        # all of it again: nothing new, nothing moved
        replay = fixes_store(
            [(driver.pk, fix(t, 1.0), 300 + k) for k, t in enumerate([t0, t1, t2])]
        )
        assert replay.new == [] and replay.moved == set()
        assert pings(driver.pk) == [(t0, 51.50, 101), (t1, 51.51, 102), (t2, 51.52, 203)]
        position = DriverPosition.objects.get(driver=driver)
        assert (position.recorded_at, position.lat, position.seq) == (t2, 51.52, 203)


@pytest.mark.django_db
def test_the_same_instant_in_another_offset_is_the_same_fix(alpha):
    with schema_context(alpha.tenant.schema_name):
        driver = driver_for()
        t0 = ago(minutes=5)
        fixes_store([(driver.pk, fix(t0), 1)])
        shifted = t0.astimezone(dt.timezone(dt.timedelta(hours=-5)))
        assert fixes_store([(driver.pk, fix(shifted), 2)]).new == []
        assert LocationPing.objects.filter(driver=driver).count() == 1


@pytest.mark.django_db
def test_a_duplicate_within_one_batch_is_stored_once(alpha):
    with schema_context(alpha.tenant.schema_name):
        driver = driver_for()
        t0, t1 = ago(minutes=2), ago(minutes=1)
        stored = fixes_store(
            [(driver.pk, fix(t0), 11), (driver.pk, fix(t1), 12), (driver.pk, fix(t0), 13)]
        )
        assert len(stored.new) == 2
        assert sorted(f.recorded_at for _, f, _ in stored.new) == [t0, t1]
        assert [(at, lat) for at, lat, _ in pings(driver.pk)] == [(t0, 51.5), (t1, 51.5)]
        assert stored.moved == {driver.pk}
        assert DriverPosition.objects.get(driver=driver).recorded_at == t1


@pytest.mark.django_db
def test_of_copies_within_one_batch_the_first_sent_is_kept(alpha):
    with schema_context(alpha.tenant.schema_name):
        driver = driver_for()
        t0 = ago(minutes=1)
        stored = fixes_store([(driver.pk, fix(t0, 51.5), 11), (driver.pk, fix(t0, 51.7), 12)])
        # as across calls (the first stored is kept, a later copy is a duplicate)
        assert stored.new == [(driver.pk, fix(t0, 51.5), 11)]
        assert pings(driver.pk) == [(t0, 51.5, 11)]


@pytest.mark.django_db
def test_an_older_fix_stored_later_does_not_move_the_position_back(alpha):
    with schema_context(alpha.tenant.schema_name):
        driver = driver_for()
        newer, older = ago(minutes=1), ago(minutes=10)
        first = fixes_store([(driver.pk, fix(newer, 51.6, -0.1, speed_mps=3.0), 50)])
        assert first.moved == {driver.pk}
        late = fixes_store([(driver.pk, fix(older, 51.4, -0.2), 60)])
        assert [(d, f.recorded_at) for d, f, _ in late.new] == [(driver.pk, older)]  # history
        assert late.moved == set()
        position = DriverPosition.objects.get(driver=driver)
        assert (position.recorded_at, position.lat, position.lng, position.speed_mps) == (
            newer,
            51.6,
            -0.1,
            3.0,
        )
        assert position.seq == 50
        assert pings(driver.pk) == [(older, 51.4, 60), (newer, 51.6, 50)]

        # one batch in any order: the position is its newest fix
        base = ago()
        batch = [
            (driver.pk, fix(base - dt.timedelta(seconds=s), 50 + s / 100), 70 + s)
            for s in (40, 5, 20)
        ]
        result = fixes_store(batch)
        assert result.moved == {driver.pk} and len(result.new) == 3
        position.refresh_from_db()
        assert (position.recorded_at, position.lat, position.seq) == (
            base - dt.timedelta(seconds=5),
            50.05,
            75,
        )


@pytest.mark.django_db
def test_two_drivers_in_one_call(alpha):
    with schema_context(alpha.tenant.schema_name):
        ann, bob = driver_for(name="Ann"), driver_for(name="Bob")
        t0, t1 = ago(minutes=2), ago(minutes=1)
        stored = fixes_store(
            [
                (ann.pk, fix(t0, 1.0, 1.0), 1),
                (bob.pk, fix(t0, 2.0, 2.0), 2),
                (ann.pk, fix(t1, 1.5, 1.5, heading_deg=90.0), 3),
            ]
        )
        assert len(stored.new) == 3 and stored.moved == {ann.pk, bob.pk}
        positions = {
            p.driver_id: (p.recorded_at, p.lat, p.lng, p.heading_deg, p.seq)
            for p in DriverPosition.objects.filter(driver__in=[ann, bob])
        }
        assert positions == {ann.pk: (t1, 1.5, 1.5, 90.0, 3), bob.pk: (t0, 2.0, 2.0, None, 2)}
        assert pings(ann.pk) == [(t0, 1.0, 1), (t1, 1.5, 3)]
        assert pings(bob.pk) == [(t0, 2.0, 2)]
        ping = LocationPing.objects.get(driver=bob)
        assert ping.received_at >= t1 and ping.accuracy_m is None


@pytest.mark.django_db
def test_storing_nothing_writes_nothing(alpha):
    with schema_context(alpha.tenant.schema_name):
        stored = fixes_store([])
        assert stored.new == [] and stored.moved == set()
        assert not LocationPing.objects.exists() and not DriverPosition.objects.exists()


# --- next_seq -----------------------------------------------------------------------------


def test_next_seq_is_microseconds_and_strictly_increasing(monkeypatch):
    import time

    # from a fresh process's start: a test that moved the clock ahead (and back) before
    # this one leaves the sequence ahead of the clock, as it should be
    monkeypatch.setattr(services, "_last_seq", 0)  # restored afterwards
    before = time.time_ns() // 1000
    seqs = [next_seq() for _ in range(20_000)]
    after = time.time_ns() // 1000
    assert all(b > a for a, b in itertools.pairwise(seqs))
    assert seqs[0] >= before
    assert seqs[-1] <= after + 20_000  # at most one step ahead of the clock per call


def test_next_seq_keeps_increasing_when_the_clock_stands_still_or_goes_back(monkeypatch):
    import time

    monkeypatch.setattr(services, "_last_seq", services._last_seq)  # restored afterwards
    first = next_seq()
    monkeypatch.setattr(time, "time_ns", lambda: (first - 5_000_000) * 1000)  # 5 s back
    assert [next_seq() for _ in range(3)] == [first + 1, first + 2, first + 3]
    monkeypatch.setattr(time, "time_ns", lambda: (first + 10_000_000) * 1000)  # 10 s ahead
    assert next_seq() == first + 10_000_000
    assert next_seq() == first + 10_000_001
