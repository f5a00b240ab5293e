"""ETAs from the phone: the stop a driver is heading to is reached when the travel time
from the driver's latest position says, and every later stop moves with it."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from dispatch.models import OrderStatus
from tests.routing.test_plan_live import busy_routes, freeze, published, walk
from tracking.models import DriverPosition
from tracking.selectors import order_eta
from tracking.services.day import Fix, fixes_store, next_seq

pytestmark = pytest.mark.django_db


def _at(route, lat, lng, when):
    fixes_store([(route.driver_id, Fix(when, lat, lng), next_seq())])


def test_the_phone_position_sets_the_eta_of_the_next_stop_and_those_after(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = published("gps", spread=0.05)
        route = busy_routes(plan)[0]
        first, second = list(route.stops.exclude(order=None).order_by("sequence")[:2])
        start = first.arrives_at - dt.timedelta(minutes=10)
        walk(monkeypatch, first.order_id, (OrderStatus.EN_ROUTE, start))
        now = start + dt.timedelta(minutes=1)
        freeze(monkeypatch, now)
        order = first.order

        # right at the door: the van is there now
        _at(route, order.lat, order.lng, now)
        here = order_eta(order, now=now)
        assert abs((here.eta - now).total_seconds()) < 60
        # 10 km further away a minute later: the arrival moves back by the drive
        later = now + dt.timedelta(minutes=1)
        freeze(monkeypatch, later)
        _at(route, order.lat + 0.09, order.lng, later)
        far = order_eta(order, now=later)
        assert (far.eta - later).total_seconds() > 10 * 60  # ≥ 13 km of road at ≤ 65 km/h
        nxt = order_eta(second.order, now=later)
        assert nxt.eta > far.eta  # the stop after it moved back as well
        # an old position says nothing: back to the plan (no earlier than now)
        stale = later + dt.timedelta(minutes=30)
        freeze(monkeypatch, stale)
        assert DriverPosition.objects.get(driver_id=route.driver_id).recorded_at < stale
        assert order_eta(order, now=stale).eta == stale
