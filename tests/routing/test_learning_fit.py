"""The learner's fit and refresh (routing.services.learning): a synthetic history whose
hidden truth has a weekday rush hour (x1.5 at 07-09) and a slow area (x1.3) is learned
within 10%; thin hours fall back to the configured rush hours; door deltas by address,
customer and size; the refresh measures on held-out days, replaces the tables, and a
failure leaves the run failed, never running."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from routing.models import (
    LearningRun,
    LegObservation,
    Plan,
    ServiceObservation,
    ServiceTime,
    TravelFactor,
)
from routing.services import corrections, learning
from routing.services.corrections import MIN_LEGS, Corrections
from tenants.models import Tenant
from tests.conftest import TENANT_ZONE, tenant_today

pytestmark = pytest.mark.django_db

SLOW_CELL = "2860:-4"
CELLS = [SLOW_CELL, "2860:-3", "2861:-4", "2861:-3"]
#: Saturday 12:00-13:00 is configured 1.2x slower; only 3 legs were driven then.
RUSH = [{"days": [5], "start": "12:00", "end": "13:00", "factor": 1.2}]
THIN_HOUR = 5 * 24 + 12


def truth_hour(hour: int) -> float:
    return 1.5 if hour // 24 < 5 and hour % 24 in (7, 8) else 1.0


def truth_area(cell: str) -> float:
    return 1.3 if cell == SLOW_CELL else 1.0


def history(days: range, *, legs_per_group: int = 8, seed: int = 7) -> int:
    """Legs on weekdays 06-11 in four areas over `days` (days before today), each the road
    model's time x the truth's hour and area factors x lognormal noise (sd 0.08); plus
    three legs in the thin hour. Returns how many legs."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in days:
        date = tenant_today(-k)
        for weekday in range(5):
            for hour in range(6, 11):
                how = weekday * 24 + hour
                for _ in range(legs_per_group // len(days) or 1):
                    cell = CELLS[int(rng.integers(len(CELLS)))]
                    estimate = int(rng.integers(120, 900))
                    noise = math.exp(rng.normal(0, 0.08))
                    observed = round(estimate * truth_hour(how) * truth_area(cell) * noise)
                    rows.append(
                        LegObservation(
                            date=date,
                            hour_of_week=how,
                            cell=cell,
                            estimate_s=estimate,
                            observed_s=observed,
                        )
                    )
    for k in range(3):
        rows.append(
            LegObservation(
                date=tenant_today(-days[0]),
                hour_of_week=THIN_HOUR,
                cell=CELLS[1],
                estimate_s=300,
                observed_s=600 + k,
            )
        )
    LegObservation.objects.bulk_create(rows)
    return len(rows)


def doors(date: dt.date) -> None:
    """A slow address (+240 s), a customer who takes a minute longer, 12-item orders."""
    rows = [("51.5000:-0.1000", "", 0, 300, 300 + delta) for delta in (230, 240, 250, 245, 235)]
    rows += [("51.6000:-0.1000", "c" * 32, 0, 200, 200 + d) for d in (60, 50, 70, 60)]
    rows += [("51.7000:-0.1000", "", 2, 600, o) for o in (900, 1000, 800)]
    rows += [("51.8000:-0.1000", "", 0, 300, o) for o in (2000, 2100)]  # two visits: thin
    ServiceObservation.objects.bulk_create(
        [
            ServiceObservation(
                date=date, address_key=a, customer_key=c, size=s, configured_s=conf, observed_s=obs
            )
            for a, c, s, conf, obs in rows
        ]
    )


def within(value: float, truth: float, share: float = 0.10) -> bool:
    return abs(value - truth) <= share * truth


def test_the_hidden_rush_hour_and_slow_area_are_learned_within_ten_percent(alpha):
    with schema_context(alpha.tenant.schema_name):
        count = history(range(1, 61), legs_per_group=60 * 8)
        fitted = learning.fit(tenant_today(-60), tenant_today(-1), rush_hours=RUSH)
        assert fitted.legs == count == 5 * 5 * 60 * 8 + 3
        assert (fitted.first_date, fitted.last_date) == (tenant_today(-60), tenant_today(-1))
        for weekday in range(5):
            for hour in range(6, 11):
                how = weekday * 24 + hour
                learned = fitted.hours[how]
                assert within(learned.factor, truth_hour(how)), (how, learned)
                assert learned.legs == 60 * 8
                assert 0.04 < learned.spread < 0.12  # the noise's 0.08
        for cell in CELLS:
            assert within(fitted.areas[cell].factor, truth_area(cell)), cell
        # and not merely within 10%: the rush hour is told apart from the rest
        assert fitted.hours[7].factor > 1.35 > 1.1 > fitted.hours[10].factor


def test_hours_with_too_few_legs_fall_back_to_the_configured_rush_hours(alpha):
    with schema_context(alpha.tenant.schema_name):
        history(range(1, 11), legs_per_group=10 * 8)
        fitted = learning.fit(tenant_today(-10), tenant_today(-1), rush_hours=RUSH)
        assert THIN_HOUR not in fitted.hours  # 3 legs < MIN_LEGS
        assert MIN_LEGS > 3
        learned = fitted.corrections(RUSH)
        saturday = tenant_today(-1)
        saturday -= dt.timedelta(days=(saturday.weekday() - 5) % 7)
        noon = dt.datetime.combine(saturday, dt.time(12, 30), TENANT_ZONE)
        assert learned.hour_factor(noon) == (1.2, 0)
        assert learned.hour_factor(noon + dt.timedelta(hours=1)) == (1.0, 0)
        monday_eight = dt.datetime.combine(
            saturday + dt.timedelta(days=2), dt.time(8, 15), TENANT_ZONE
        )
        factor, legs = learned.hour_factor(monday_eight)
        assert legs == 10 * 8 and within(factor, 1.5)
        # an area nobody drove: 1
        assert learned.area_factor((10.0, 10.0), (10.0, 10.01)) == (1.0, 0)


def test_the_hour_prior_is_the_configured_factor_and_shrinks_few_legs_towards_it():
    # 5 legs all twice the road model at an hour configured 1.2x: half-way (in logs)
    rows = [(THIN_HOUR, "1:1", 100, 200)] * 5
    hours, areas, used = learning.travel_fit(rows, RUSH)
    assert used == 5
    # one area is the average area (areas are centred): a = 0, so
    # h = (5 log 2 + 5 log 1.2) / 10, half-way between the legs and the prior in logs
    log_h = (5 * math.log(2) + 5 * math.log(1.2)) / 10
    assert hours[THIN_HOUR].factor == pytest.approx(math.exp(log_h), rel=1e-3)
    assert areas["1:1"].factor == pytest.approx(1.0)


def test_areas_are_relative_to_the_average_area_so_the_hours_keep_the_level():
    # every leg at the rush hour 1.5x the road model, in two areas (one 1.2x the other):
    # the hour learns the level, the areas only their difference
    rows = [(THIN_HOUR, "1:1", 100, 150)] * 40 + [(THIN_HOUR, "1:2", 100, 180)] * 40
    hours, areas, _ = learning.travel_fit(rows, ())
    slow, fast = areas["1:2"].factor, areas["1:1"].factor
    # the difference, shrunk towards none by the areas' prior (5 legs' worth of 40)
    assert slow / fast == pytest.approx(math.exp(math.log(1.2) * 40 / 45), rel=1e-3)
    assert math.log(slow) + math.log(fast) == pytest.approx(0, abs=1e-4)  # factors to 4 places
    # the level: the geometric mean of 1.5 and 1.8, shrunk a little towards 1 (5 of 85)
    level = math.exp(80 * math.log(math.sqrt(1.5 * 1.8)) / 85)
    assert hours[THIN_HOUR].factor == pytest.approx(level, rel=1e-3)


def test_door_deltas_are_learned_by_address_customer_and_size(alpha):
    with schema_context(alpha.tenant.schema_name):
        doors(tenant_today(-3))
        fitted = learning.fit(tenant_today(-5), tenant_today(-1), rush_hours=())
        assert fitted.visits == 14
        assert fitted.addresses == {
            "51.5000:-0.1000": learning.Door(240, 540, 5),
            "51.6000:-0.1000": learning.Door(60, 260, 4),
            "51.7000:-0.1000": learning.Door(300, 900, 3),
        }
        assert fitted.customers == {"c" * 32: learning.Door(60, 260, 4)}
        # size 0 (one item): the slow address, the customer and the thin address together
        assert fitted.sizes == {0: learning.Door(235, 535, 11), 2: learning.Door(300, 900, 3)}


def test_observations_outside_the_dates_are_not_fitted(alpha):
    with schema_context(alpha.tenant.schema_name):
        doors(tenant_today(-30))
        history(range(30, 31), legs_per_group=8)
        fitted = learning.fit(tenant_today(-20), tenant_today(-1), rush_hours=())
        assert (fitted.legs, fitted.visits, fitted.hours, fitted.addresses) == (0, 0, {}, {})
        assert fitted.first_date is None


@pytest.fixture
def replays(monkeypatch):
    """eta_replay replaced: records what it was asked, answers better with learning."""
    calls = []

    def fake(dates, corrections_obj):
        calls.append((list(dates), corrections_obj))
        learned = not corrections_obj.is_empty
        return type(
            "Result",
            (),
            {
                "days": len(dates),
                "stops": 40,
                "mae_s": 120.0 if learned else 300.0,
                "inside_share": 0.9 if learned else 0.6,
            },
        )()

    monkeypatch.setattr(learning, "eta_replay", fake)
    return calls


def test_refresh_measures_on_held_out_days_then_replaces_the_tables(
    alpha, replays, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        Tenant.objects.filter(pk=alpha.tenant.pk).update(rush_hours=RUSH)
        history(range(1, 31), legs_per_group=30 * 6)
        doors(tenant_today(-10))
        for k in (2, 5, 9):
            Plan.objects.create(
                date=tenant_today(-k), status=Plan.Status.DONE, published_at=timezone.now()
            )
        TravelFactor.objects.create(kind="area", key="old", factor=3, legs=99)
        assert corrections.corrections().is_empty  # kept by this process
        with django_capture_on_commit_callbacks(execute=True):
            run = learning.refresh(today=tenant_today(), days=30, held_out=7)
        run.refresh_from_db()
        assert run.status == LearningRun.Status.DONE and run.error == ""
        assert run.finished_at is not None and run.duration_s >= 0
        # the measurement: the held-out days with a published plan, without then with
        [(dates_before, before), (dates_after, after)] = replays
        assert dates_before == dates_after == [tenant_today(-5), tenant_today(-2)]
        assert before.is_empty and before.rush_hours == tuple(RUSH)
        assert after.hours and after.areas and after.addresses
        # the corrections measured were fitted without the held-out days
        train = learning.fit(tenant_today(-30), tenant_today(-8), rush_hours=RUSH)
        assert dict(after.hours) == {k: (f.factor, f.legs) for k, f in train.hours.items()}
        assert (run.eval_days, run.eval_stops) == (2, 40)
        assert (run.mae_before_s, run.mae_after_s) == (300.0, 120.0)
        assert (run.inside_before, run.inside_after) == (0.6, 0.9)
        # then fitted on every day and stored
        assert run.legs == LegObservation.objects.count() and run.visits == 14
        assert (run.first_date, run.last_date) == (tenant_today(-30), tenant_today(-1))
        assert not TravelFactor.objects.filter(key="old").exists()
        hours = dict(TravelFactor.objects.filter(kind="hour").values_list("key", "factor"))
        assert within(hours["7"], 1.5) and within(hours["10"], 1.0)
        assert str(THIN_HOUR) not in hours
        assert within(TravelFactor.objects.get(kind="area", key=SLOW_CELL).factor, 1.3)
        assert ServiceTime.objects.get(level="address", key="51.5000:-0.1000").delta_s == 240
        assert ServiceTime.objects.get(level="size", key="0").visits == 11
        # the process forgot what it kept: the new tables are what plans use now
        learned = corrections.corrections()
        assert learned.version == run.pk and within(learned.hours[7][0], 1.5)


def test_a_failing_refresh_marks_the_run_failed(alpha, replays, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        TravelFactor.objects.create(kind="area", key="kept", factor=1.2, legs=9)

        def broken(*args, **kwargs):
            raise RuntimeError("the fit broke")

        monkeypatch.setattr(learning, "_tables_replace", broken)
        with pytest.raises(RuntimeError):
            learning.refresh(days=30)
        run = LearningRun.objects.get()
        assert run.status == LearningRun.Status.FAILED
        assert run.error == "RuntimeError: the fit broke"
        assert run.finished_at is not None
        assert TravelFactor.objects.filter(key="kept").exists()  # the old tables stay
        assert corrections.newest_run_pk() == 0


def test_fitted_corrections_apply_as_the_stored_ones_would():
    fitted = learning.Fitted(
        hours={8: learning.Factor(1.4, 20, 0.1)},
        areas={"1:2": learning.Factor(1.2, 9, 0.1)},
        addresses={"a": learning.Door(60, 360, 4)},
        sizes={1: learning.Door(-30, 270, 8)},
    )
    applied = fitted.corrections(RUSH, version=3)
    assert applied == Corrections(
        rush_hours=tuple(RUSH),
        hours={8: (1.4, 20)},
        areas={"1:2": (1.2, 9)},
        addresses={"a": (60, 4)},
        customers={},
        sizes={1: (-30, 8)},
        version=3,
    )


def test_a_run_left_running_by_a_killed_worker_is_marked_failed_by_the_next(alpha, replays):
    with schema_context(alpha.tenant.schema_name):
        killed = LearningRun.objects.create(started_at=timezone.now() - dt.timedelta(hours=7))
        recent = LearningRun.objects.create(started_at=timezone.now() - dt.timedelta(hours=1))
        run = learning.refresh(days=30)
        killed.refresh_from_db()
        recent.refresh_from_db()
        assert killed.status == LearningRun.Status.FAILED and "Stopped" in killed.error
        assert recent.status == LearningRun.Status.RUNNING  # may still be at work
        assert run.status == LearningRun.Status.DONE
