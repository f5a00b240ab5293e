"""Shopify delivery dates as the local-delivery apps write them, through the webhook:
every format is booked on its day, by every usual attribute name; a date that cannot be
read leaves the order needing a date, never on a guessed day."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Order, WebhookEvent
from tenants.models import Tenant
from tests.conftest import tenant_today
from tests.dispatch import shopify_payloads as sp
from tests.dispatch.test_shopify import JON, deliver, process_all, store  # noqa: F401

FORMATS = {
    "iso": lambda d: d.isoformat(),
    "slashes, year first": lambda d: d.strftime("%Y/%m/%d"),
    "dots, year first": lambda d: d.strftime("%Y.%m.%d"),
    "digits only": lambda d: d.strftime("%Y%m%d"),
    "day first": lambda d: d.strftime("%d/%m/%Y"),
    "dots, day first": lambda d: d.strftime("%d.%m.%Y"),
    "month day, year": lambda d: d.strftime(f"%B {d.day}, %Y"),
    "day month year": lambda d: d.strftime(f"{d.day} %b %Y"),
    "weekday, month day, year": lambda d: d.strftime(f"%a, %b {d.day}, %Y"),
    "with a time": lambda d: d.strftime("%Y/%m/%d 00:00"),
}
# What the apps name the attribute: Zapiet "Delivery-Date", others "Delivery Date",
# "delivery_date", "Local Delivery Date", "Order Delivery Date", hidden "_delivery_date".
KEYS = [
    "Delivery-Date",
    "Delivery Date",
    "delivery_date",
    "Local Delivery Date",
    "Order Delivery Date",
    "_delivery_date",
]


def _with_date(name: str, value: str, **changes) -> dict:
    return sp.order(
        note_attributes=[
            {"name": name, "value": value},
            {"name": "Delivery Time", "value": "9:00 AM - 12:00 PM"},
        ],
        tags="",
        **changes,
    )


def _order() -> Order:
    with schema_context("alpha"):
        return Order.objects.get(external_id=JON)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_the_apps_write_is_booked_on_its_day(alpha, store, fmt):  # noqa: F811
    day = tenant_today(10)
    assert deliver(alpha.host, _with_date("Delivery-Date", FORMATS[fmt](day))).status_code == 200
    assert process_all("alpha") == ["processed"]
    order = _order()
    assert (order.delivery_date, order.needs_date, order.delivery_date_as_written) == (
        day,
        False,
        "",
    )
    assert order.time_windows == [{"start": "09:00", "end": "12:00"}]


@pytest.mark.parametrize("key", KEYS)
def test_each_attribute_name_the_apps_use_is_read(alpha, store, key):  # noqa: F811
    day = tenant_today(3)
    deliver(alpha.host, _with_date(key, day.strftime("%Y/%m/%d")))
    assert process_all("alpha") == ["processed"]
    assert _order().delivery_date == day


def _ambiguous_day() -> dt.date:
    """A day ahead whose day and month could swap (06/12), and are not the same."""
    day = tenant_today(2)
    while day.day > 12 or day.day == day.month:
        day += dt.timedelta(days=1)
    return day


def test_an_ambiguous_day_is_read_as_the_tenants_locale_writes_dates(alpha, store):  # noqa: F811
    day = _ambiguous_day()
    deliver(alpha.host, _with_date("Delivery Date", day.strftime("%d/%m/%Y")))
    assert process_all("alpha") == ["processed"]  # en in GB: the day first
    Tenant.objects.filter(schema_name="alpha").update(locale="en-us")
    american = _with_date("Delivery Date", day.strftime("%m/%d/%Y"), id=sp.ORDER["id"] + 1)
    deliver(alpha.host, american, event_id="ev-2")
    assert process_all("alpha") == ["processed", "processed"]  # en-us: the month first
    with schema_context("alpha"):
        dates = list(Order.objects.order_by("pk").values_list("delivery_date", flat=True))
    assert dates == [day, day]


@pytest.mark.parametrize("written", ["next tuesday", "32/13/2026", "Xmas Eve", "2026-02-30"])
def test_a_date_that_cannot_be_read_leaves_the_order_needing_a_date(
    alpha,
    store,  # noqa: F811
    written,
):
    deliver(alpha.host, _with_date("Delivery Date", written))
    assert process_all("alpha") == ["processed"]
    order = _order()
    assert (order.delivery_date, order.needs_date, order.delivery_date_as_written) == (
        None,
        True,
        written,
    )
    assert order.status == "unassigned"
    assert "not understood" not in order.notes  # shown as the date to give, not a note
    with schema_context("alpha"):
        detail = WebhookEvent.objects.get().detail
        assert f"needs a date ({written!r} cannot be read)" in detail
        # on no day: no plan of any day takes it
        assert not Order.objects.filter(delivery_date__isnull=False).exists()


def test_an_update_with_a_readable_date_gives_the_order_its_day(alpha, store):  # noqa: F811
    deliver(alpha.host, _with_date("Delivery Date", "soon please"))
    process_all("alpha")
    day = tenant_today(4)
    updated = _with_date("Delivery Date", day.strftime("%Y.%m.%d"))
    updated["updated_at"] = "2099-01-01T00:00:00Z"
    deliver(alpha.host, updated, topic="orders/updated", event_id="ev-2")
    assert process_all("alpha") == ["processed", "processed"]
    order = _order()
    assert (order.delivery_date, order.delivery_date_as_written) == (day, "")


def test_an_update_with_an_unreadable_date_keeps_the_day_the_order_has(alpha, store):  # noqa: F811
    day = tenant_today(5)
    deliver(alpha.host, _with_date("Delivery Date", day.strftime("%Y/%m/%d")))
    process_all("alpha")
    updated = _with_date("Delivery Date", "whenever")
    updated["updated_at"] = "2099-01-01T00:00:00Z"
    deliver(alpha.host, updated, topic="orders/updated", event_id="ev-2")
    assert process_all("alpha") == ["processed", "processed"]
    order = _order()
    assert (order.delivery_date, order.delivery_date_as_written) == (day, "")


def test_an_unreadable_date_change_is_on_the_order_s_history_and_page(alpha, store):  # noqa: F811
    from tests.conftest import login_client

    day = tenant_today(5)
    deliver(alpha.host, _with_date("Delivery Date", day.strftime("%Y/%m/%d")))
    process_all("alpha")
    for n, event_id in enumerate(["ev-2", "ev-3"]):  # the store sends its note with every update
        updated = _with_date("Delivery Date", "the week after next")
        updated["updated_at"] = f"209{n}-01-01T00:00:00Z"
        deliver(alpha.host, updated, topic="orders/updated", event_id=event_id)
    assert process_all("alpha") == ["processed", "processed", "processed"]
    said = (
        "The store sent a date we could not read: 'the week after next'; "
        f"the order kept {day:%Y-%m-%d}."
    )
    with schema_context("alpha"):
        order = Order.objects.get(external_id=JON)
        assert order.delivery_date == day
        notes = list(order.events.filter(reason=said).values_list("from_status", "to_status"))
        assert notes == [(order.status, order.status)]  # once, and no status changed
        detail = WebhookEvent.objects.get(event_id="ev-2").detail
    assert f"its new date 'the week after next' cannot be read: it kept {day:%Y-%m-%d}" in detail
    page = login_client(alpha.host, alpha.dispatcher_email).get(f"/orders/{order.pk}/")
    assert said.replace("'", "&#x27;") in page.content.decode()
