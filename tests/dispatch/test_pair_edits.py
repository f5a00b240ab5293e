"""Changing one end of a pickup-and-delivery pair: a delivery stays editable once its
parcel is collected, the two ends are locked in one order whichever end a change starts
from (no deadlock between a store and a dispatcher), and an order given coordinates by
hand is announced as located (auto-dispatch places it)."""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django_q.models import OrmQ
from django_tenants.utils import schema_context

from dispatch.forms import OrderForm
from dispatch.models import Order, OrderStatus
from dispatch.services.orders import order_create, order_transition, order_update
from dispatch.signals import order_status_changed, orders_located
from tenants.models import Tenant
from tests.conftest import PASSWORD, login_client, tenant_today
from tests.dispatch.test_pickup_intake import PICKUP, order_body

ON_THE_ROAD = (OrderStatus.PLANNED, OrderStatus.DISPATCHED)


def a_pair(**extra) -> tuple[Order, Order]:
    delivery = order_create(order_body(pickup=PICKUP, **extra), source=Order.Source.DASHBOARD)
    return delivery, delivery.pair_as_delivery.pickup


def dispatched(*orders: Order) -> None:
    for order in orders:
        for status in ON_THE_ROAD:
            order_transition(order=order, to=status)


def collected(pickup: Order, *, last: str = OrderStatus.DELIVERED) -> Order:
    for status in (OrderStatus.EN_ROUTE, OrderStatus.ARRIVED, last):
        pickup = order_transition(order=pickup, to=status)
        if status == last:
            break
    return pickup


def as_browser_sends(order: Order, **changes: str) -> dict[str, str]:
    """The edit form as a browser posts it back: every field prefilled from the order
    (and its pickup), with `changes` typed over them."""
    form = OrderForm(initial=OrderForm.initial_from(order))
    values = {field.name: field.value() for field in form}
    return {name: "" if v is None else str(v) for name, v in {**values, **changes}.items()}


# --- a delivery whose pickup is collected stays editable -------------------------------


@pytest.mark.django_db
def test_a_dispatched_delivery_whose_parcel_is_collected_can_change_its_phone(alpha):
    with schema_context("alpha"):
        delivery, pickup = a_pair()
        dispatched(delivery, pickup)
        collected(pickup)
        collected_at = Order.objects.get(pk=pickup.pk).updated_at
        data = as_browser_sends(delivery, customer_phone="020 7946 0999")
    client = login_client(alpha.host, alpha.dispatcher_email)

    saved = client.post(f"/orders/{delivery.pk}/edit/", data)

    assert saved.status_code == 302, saved.context["form"].errors
    with schema_context("alpha"):
        delivery.refresh_from_db()
        assert delivery.customer_phone == "+442079460999"
        assert delivery.status == OrderStatus.DISPATCHED
        stored = Order.objects.get(pk=pickup.pk)
        assert (stored.status, stored.updated_at) == (OrderStatus.DELIVERED, collected_at)


@pytest.mark.django_db
def test_a_pickup_sent_as_it_is_is_left_alone(alpha):
    with schema_context("alpha"):
        delivery, pickup = a_pair()
        before = Order.objects.get(pk=pickup.pk).updated_at
        order_update(order=delivery, data={"notes": "Leave by the door", "pickup": PICKUP})
        assert Order.objects.get(pk=pickup.pk).updated_at == before
        delivery.refresh_from_db()
        assert delivery.notes == "Leave by the door"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("last", "message"),
    [
        (OrderStatus.DELIVERED, "The parcel has been collected: the pickup cannot change."),
        (OrderStatus.FAILED, "The pickup failed: rebook it before changing it."),
        (OrderStatus.ARRIVED, "The driver is at the pickup: it cannot change now."),
    ],
)
def test_changing_a_pickup_that_is_collected_or_failed_is_a_pickup_error(alpha, last, message):
    with schema_context("alpha"):
        delivery, pickup = a_pair()
        dispatched(delivery, pickup)
        collected(pickup, last=last)
        delivery.refresh_from_db()  # a failed pickup sent its delivery back to the pool
        with pytest.raises(ValidationError) as raised:
            order_update(
                order=delivery,
                data={
                    "customer_phone": "020 7946 0999",
                    "pickup": {**PICKUP, "phone": "020 7946 0001"},
                },
            )
        assert raised.value.message_dict == {"pickup": [message]}
        delivery.refresh_from_db()
        assert delivery.customer_phone != "+442079460999"  # nothing of the edit was kept


@pytest.mark.django_db
def test_the_form_shows_why_a_collected_pickup_cannot_change(alpha):
    with schema_context("alpha"):
        delivery, pickup = a_pair()
        dispatched(delivery, pickup)
        collected(pickup)
        data = as_browser_sends(delivery, pickup_name="Another Bakery")
    client = login_client(alpha.host, alpha.dispatcher_email)

    answer = client.post(f"/orders/{delivery.pk}/edit/", data)

    assert answer.status_code == 200
    assert "The parcel has been collected: the pickup cannot change." in answer.content.decode()


@pytest.mark.django_db
def test_an_unassigned_pickup_takes_only_what_changed(alpha):
    with schema_context("alpha"):
        delivery, pickup = a_pair()
        order_update(order=delivery, data={"pickup": {**PICKUP, "lat": 51.6, "lng": -0.2}})
        pickup.refresh_from_db()
        assert (float(pickup.lat), float(pickup.lng)) == (51.6, -0.2)
        assert pickup.customer_name == PICKUP["name"]


# --- both ends locked first, by pk -------------------------------------------------------


def _locks(queries: list[dict]) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if "FOR UPDATE" in q["sql"] and 'FROM "dispatch_order"' in q["sql"]
    ]


def _locked_ids(sql: str) -> set[int]:
    found = re.search(r'"dispatch_order"\."id" (?:IN \(([\d, ]+)\)|= (\d+))', sql)
    return {int(n) for n in (found[1] or found[2]).split(",")}


@pytest.mark.django_db
@pytest.mark.parametrize("end", ["pickup", "delivery"])
def test_a_cancel_locks_both_ends_by_pk_before_changing_either(alpha, end):
    with schema_context("alpha"):
        delivery, pickup = a_pair()
        assert delivery.pk < pickup.pk
        with CaptureQueriesContext(connection) as queries:
            order_transition(order=pickup if end == "pickup" else delivery, to="cancelled")
        first_lock = _locks(queries.captured_queries)[0]
        assert _locked_ids(first_lock) == {delivery.pk, pickup.pk}
        assert first_lock.rstrip().endswith('ORDER BY "dispatch_order"."id" ASC FOR UPDATE')
        first_change = next(
            i for i, q in enumerate(queries.captured_queries) if q["sql"].startswith("UPDATE")
        )
        lock_at = next(i for i, q in enumerate(queries.captured_queries) if q["sql"] == first_lock)
        assert lock_at < first_change
        statuses = set(Order.objects.values_list("status", flat=True))
        assert statuses == {OrderStatus.CANCELLED}


@pytest.mark.django_db
def test_a_drivers_failed_pickup_locks_both_ends_with_its_first_step(alpha):
    with schema_context("alpha"):
        delivery, pickup = a_pair()
        dispatched(delivery, pickup)
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            for status in (OrderStatus.EN_ROUTE, OrderStatus.FAILED):  # as tracking does
                order_transition(order=pickup, to=status, reason="Shop closed")
        assert _locked_ids(_locks(queries.captured_queries)[0]) == {delivery.pk, pickup.pk}
        delivery.refresh_from_db()
        assert delivery.status == OrderStatus.UNASSIGNED


@pytest.mark.django_db
def test_a_new_day_for_the_pickup_locks_both_ends_by_pk(alpha):
    with schema_context("alpha"):
        delivery, pickup = a_pair()
        with CaptureQueriesContext(connection) as queries:
            order_update(order=pickup, data={"delivery_date": tenant_today(3).isoformat()})
        first_lock = _locks(queries.captured_queries)[0]
        assert _locked_ids(first_lock) == {delivery.pk, pickup.pk}
        assert first_lock.rstrip().endswith('ORDER BY "dispatch_order"."id" ASC FOR UPDATE')
        delivery.refresh_from_db()
        assert delivery.delivery_date == tenant_today(3)


def test_cancelling_both_ends_at_once_from_two_connections_does_not_deadlock(
    django_db_setup, django_db_blocker
):
    """The store cancels the delivery while a dispatcher cancels the pickup. Each waits,
    once it has changed its own end, until the other has changed its own (when both can:
    without the pair locked first, both then reach for the other's row and the database
    kills one): with the pair locked first, the second waits for the first instead."""
    from tenants.services.provisioning import tenant_provision

    with django_db_blocker.unblock():
        tenant = tenant_provision(
            name="Pair Race Co",
            slug=f"pair-race-{secrets.token_hex(3)}",
            owner_email="owner@pair-race.test",
            owner_password=PASSWORD,
            country="GB",
            time_zone="Europe/London",
        ).tenant
        schema = tenant.schema_name
        with schema_context(schema):
            delivery, pickup = a_pair()  # committed: no test transaction around it
    both_changed = threading.Barrier(2)
    waited = threading.local()

    def hold_after_own_change(sender, *, order, **kwargs) -> None:
        if getattr(waited, "once", False):
            return  # the cascade's own signal
        waited.once = True
        # broken: the other is waiting for our lock (it never gets here first): go on
        with contextlib.suppress(threading.BrokenBarrierError):
            both_changed.wait(timeout=3)

    def cancel(order: Order) -> str:
        try:
            with django_db_blocker.unblock(), schema_context(schema):
                order_transition(order=Order(pk=order.pk, kind=order.kind), to="cancelled")
                return "ok"
        except DatabaseError as exc:  # a deadlock: the database killed this one
            return f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    order_status_changed.connect(hold_after_own_change, dispatch_uid="test-pair-race")
    try:
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(cancel, [delivery, pickup]))
    finally:
        order_status_changed.disconnect(dispatch_uid="test-pair-race")
    assert answers == ["ok", "ok"]
    with django_db_blocker.unblock(), schema_context(schema):
        statuses = dict(Order.objects.values_list("pk", "status"))
        assert statuses == {delivery.pk: "cancelled", pickup.pk: "cancelled"}


# --- coordinates given by hand -----------------------------------------------------------


@pytest.mark.django_db
def test_coordinates_given_by_hand_announce_the_order_located_and_queue_auto_dispatch(
    alpha, django_capture_on_commit_callbacks
):
    schema = alpha.tenant.schema_name
    heard: list[list[int]] = []

    def listen(sender, *, order_ids, **kwargs) -> None:
        heard.append(list(order_ids))

    with schema_context(schema):
        Tenant.objects.filter(pk=alpha.tenant.pk).update(auto_dispatch=True)
        body = order_body(delivery_date=str(tenant_today()), lat=None, lng=None)
        lost = order_create({**body, "address_line1": "Nowhere 1"}, source=Order.Source.API)
        Order.objects.filter(pk=lost.pk).update(geocode_status=Order.GeocodeStatus.FAILED)
        orders_located.connect(listen, dispatch_uid="test-located")
        try:
            with django_capture_on_commit_callbacks(execute=True):
                order_update(order=lost, data={"lat": 51.52, "lng": -0.1})
            with django_capture_on_commit_callbacks(execute=True):  # the same: no news
                order_update(order=lost, data={"lat": 51.52, "lng": -0.1})
            with django_capture_on_commit_callbacks(execute=True):  # no coordinates: none
                order_update(order=lost, data={"lat": None, "lng": None})
        finally:
            orders_located.disconnect(dispatch_uid="test-located")
        assert heard == [[lost.pk]]
        names = [q.name() for q in OrmQ.objects.all()]
        assert f"{schema}:auto-dispatch-{lost.pk}-1" in names
