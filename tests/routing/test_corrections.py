"""The learned model as plans and ETAs apply it (routing.services.corrections): each hour
learned where it is and the configured rush hours elsewhere, area factors on the matrix,
door times by address, customer and size, and the per-process copy of a tenant's tables."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from routing.models import LearningRun, ServiceTime, TravelFactor
from routing.optimiser.matrix import Matrix
from routing.optimiser.problem import Rush
from routing.optimiser.schedule import UNREACHABLE_S
from routing.services import corrections as learned
from routing.services.corrections import (
    MIN_LEGS,
    MIN_VISITS,
    Corrections,
    address_key,
    cell_of,
    customer_key,
    hour_of_week,
    leg_cell,
    size_of,
)
from tenants.models import Tenant
from tests.conftest import tenant_today

RUSH = ({"days": [0, 1, 2, 3, 4], "start": "07:30", "end": "09:00", "factor": 1.3},)


def _monday() -> dt.date:
    today = tenant_today()
    return today - dt.timedelta(days=today.weekday())


def _order(**fields) -> SimpleNamespace:
    base = {
        "service_s": 300,
        "lat": 60.17,
        "lng": 24.94,
        "customer_phone": "+358401234567",
        "customer_email": "",
        "items": 1,
    }
    return SimpleNamespace(**{**base, **fields})


def test_cells_are_about_two_kilometres_and_stable_inside_one() -> None:
    assert cell_of(60.17, 24.94) == cell_of(60.1701, 24.9401)
    assert cell_of(60.17, 24.94) != cell_of(60.17 + 0.02, 24.94)  # 2.2 km north
    assert cell_of(60.17, 24.94) != cell_of(60.17, 24.94 + 0.04)  # 2.2 km east at 60°N
    assert leg_cell((60.16, 24.93), (60.18, 24.95)) == cell_of(60.17, 24.94)
    assert cell_of(-33.9, 18.4) != cell_of(33.9, 18.4)


def test_keys_hold_no_phone_numbers_and_sizes_have_four_classes() -> None:
    key = customer_key("+358401234567", "")
    assert len(key) == 32 and "358" not in key
    assert customer_key("", " Ann@Example.com ") == customer_key("", "ann@example.com")
    assert customer_key("", "") == ""
    assert address_key(60.123456, 24.987654) == "60.1235:24.9877"
    assert [size_of(n) for n in (0, 1, 2, 3, 4, 9, 10, 50)] == [0, 0, 1, 1, 2, 2, 3, 3]
    monday_8 = dt.datetime.combine(_monday(), dt.time(8, 15))
    assert hour_of_week(monday_8) == 8
    assert hour_of_week(monday_8 + dt.timedelta(days=6)) == 6 * 24 + 8


def test_with_nothing_learned_the_rush_is_the_configured_one() -> None:
    monday = _monday()
    assert Corrections.none(RUSH).rush_for(monday) == (Rush(27000, 32400, 1.3),)
    assert Corrections.none(RUSH).rush_for(monday + dt.timedelta(days=5)) == ()  # Saturday


def test_a_learned_hour_replaces_the_configured_factor_only_in_that_hour() -> None:
    monday = _monday()
    corrections = Corrections(rush_hours=RUSH, hours={8: (1.5, 40), 10: (1.1, 9)})
    assert corrections.rush_for(monday) == (
        Rush(27000, 28800, 1.3),  # 07:30-08:00 configured: hour 7 not learned
        Rush(28800, 32400, 1.5),  # 08:00-09:00 learned
        Rush(36000, 39600, 1.1),  # 10:00-11:00 learned
    )
    # Tuesday's hours were not learned: the configured rush hour as it is
    assert corrections.rush_for(monday + dt.timedelta(days=1)) == (Rush(27000, 32400, 1.3),)


def test_a_learned_hour_at_one_replaces_a_configured_rush() -> None:
    corrections = Corrections(rush_hours=RUSH, hours={7: (1.0, 50), 8: (1.0, 50)})
    assert corrections.rush_for(_monday()) == ()


def test_hour_factor_says_how_many_legs_back_it() -> None:
    monday_8 = dt.datetime.combine(_monday(), dt.time(8, 5))
    corrections = Corrections(rush_hours=RUSH, hours={8: (1.42, 212)})
    assert corrections.hour_factor(monday_8) == (1.42, 212)
    assert corrections.hour_factor(monday_8 - dt.timedelta(minutes=20)) == (1.3, 0)
    assert corrections.hour_factor(monday_8 + dt.timedelta(hours=3)) == (1.0, 0)


def test_area_factors_scale_the_legs_whose_middle_lies_in_the_area() -> None:
    a, b, far = (60.170, 24.940), (60.171, 24.941), (60.30, 25.20)
    corrections = Corrections(areas={leg_cell(a, b): (1.25, 30)})
    matrix = Matrix(
        np.array([[0, 100, 900], [200, 0, UNREACHABLE_S], [900, 800, 0]]),
        np.array([[0, 1000, 9000], [2000, 0, 9999], [9000, 8000, 0]]),
    )
    scaled = corrections.scale(matrix, [a, b, far])
    assert scaled.durations_s.tolist() == [[0, 125, 900], [250, 0, UNREACHABLE_S], [900, 800, 0]]
    assert scaled.distances_m.tolist() == matrix.distances_m.tolist()
    assert Corrections().scale(matrix, [a, b, far]) is matrix


def test_door_time_comes_from_the_most_particular_level_with_enough_visits() -> None:
    order = _order()
    corrections = Corrections(
        addresses={address_key(60.17, 24.94): (420, 6)},
        customers={customer_key("+358401234567", ""): (120, 4)},
        sizes={0: (-60, 50)},
    )
    seconds, note = corrections.service(order)
    assert (seconds, note.level, note.visits, note.configured) == (720, "address", 6, 300)
    seconds, note = corrections.service(_order(lat=60.5))
    assert (seconds, note.level) == (420, "customer")
    seconds, note = corrections.service(_order(lat=60.5, customer_phone="+358409999999"))
    assert (seconds, note.level) == (240, "size")
    assert Corrections().service(order) == (300, None)
    # a learned saving never takes a door below 30 s
    assert Corrections(sizes={0: (-900, 50)}).service(order)[0] == 30


@pytest.fixture
def learned_rows(alpha):
    with schema_context(alpha.tenant.schema_name):
        TravelFactor.objects.create(kind="hour", key="8", factor=1.5, legs=MIN_LEGS)
        TravelFactor.objects.create(kind="hour", key="9", factor=2.0, legs=MIN_LEGS - 1)
        TravelFactor.objects.create(kind="area", key=cell_of(60.17, 24.94), factor=1.2, legs=20)
        ServiceTime.objects.create(
            level="address", key=address_key(60.17, 24.94), delta_s=300, median_s=600, visits=3
        )
        ServiceTime.objects.create(level="size", key="2", delta_s=60, median_s=360, visits=2)
        run = LearningRun.objects.create(status="done", finished_at=timezone.now())
    return run


def test_the_tenants_corrections_hold_only_groups_with_enough_data(alpha, learned_rows) -> None:
    with schema_context(alpha.tenant.schema_name):
        found = learned.corrections()
    assert found.version == learned_rows.pk
    assert dict(found.hours) == {8: (1.5, MIN_LEGS)}  # hour 9 had too few legs
    assert dict(found.areas) == {cell_of(60.17, 24.94): (1.2, 20)}
    assert dict(found.addresses) == {address_key(60.17, 24.94): (300, MIN_VISITS)}
    assert dict(found.sizes) == {}  # two visits are not enough


def test_a_tenant_that_turned_learning_off_or_never_learned_gets_none(
    alpha, beta, learned_rows
) -> None:
    with schema_context(beta.tenant.schema_name):
        assert learned.corrections().is_empty  # alpha's rows are alpha's
    Tenant.objects.filter(pk=alpha.tenant.pk).update(use_learned_times=False)
    with schema_context(alpha.tenant.schema_name):
        assert learned.corrections().is_empty


def test_a_process_keeps_them_until_a_newer_run_or_forget(alpha, learned_rows) -> None:
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        first = learned.corrections()
        TravelFactor.objects.filter(kind="hour", key="8").update(factor=1.7)
        assert learned.corrections() is first  # kept: no query for each ETA
        learned.forget(schema)
        LearningRun.objects.create(status="done", finished_at=timezone.now())
        assert learned.corrections().hours[8] == (1.7, MIN_LEGS)


def test_learned_hours_a_hair_off_the_road_model_make_no_rush_periods() -> None:
    # a day where every hour was learned within 3% of the road model: no rush at all
    monday = _monday()
    near_one = {h: (1.0 + (0.02 if h % 2 else -0.02), 40) for h in range(24)}
    near_one[8] = (1.444, 40)
    corrections = Corrections(rush_hours=RUSH, hours=near_one)
    assert corrections.rush_for(monday) == (Rush(28800, 32400, 1.44),)
    monday_3 = dt.datetime.combine(monday, dt.time(3, 10))
    assert corrections.hour_factor(monday_3) == (1.0, 40)
