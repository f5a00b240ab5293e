"""The dashboard's recurring orders pages: the form (rule builder, advanced RRULE, field
errors on their fields), the live preview, a schedule's page with skip / move / undo and
cancel, and that another tenant's schedule or a driver gets nowhere."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Order, RecurringOrder
from dispatch.services import recurring as services
from tests.conftest import login_client, tenant_today

pytestmark = pytest.mark.django_db

SAME_ID = 8_000_002
WEEKDAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def _form(**overrides) -> dict:
    start = tenant_today(1)
    return {
        "name": "Café Rosa bread",
        "interval": "1",
        "frequency": "WEEKLY",
        "weekdays": [WEEKDAY_CODES[start.weekday()]],
        "starts_on": start.isoformat(),
        "ends_on": "",
        "lead_days": "7",
        "advanced_rule": "",
        "customer_name": "Café Rosa",
        "address_line1": "1 High St",
        "lat": "51.5",
        "lng": "-0.1",
        "window1_start": "09:00",
        "window1_end": "12:00",
        "service_minutes": "5",
        "weight_kg": "0",
        "volume_l": "0",
        "items": "1",
        "priority": "2",
    } | overrides


def test_a_schedule_is_made_from_the_form_and_listed(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    assert client.get("/recurring/new/").status_code == 200
    answer = client.post("/recurring/new/", _form(interval="2"))
    assert answer.status_code == 302, answer.content.decode()[:3000]
    with schema_context("alpha"):
        schedule = RecurringOrder.objects.get()
        assert (
            schedule.rule
            == f"FREQ=WEEKLY;INTERVAL=2;BYDAY={WEEKDAY_CODES[tenant_today(1).weekday()]}"
        )
        assert schedule.template["time_windows"] == [{"start": "09:00", "end": "12:00"}]
        assert Order.objects.filter(source="recurring").count() == 1
    page = client.get(answer.url).content.decode()
    assert "Every 2 weeks on" in page and "Cancel this schedule" in page
    listing = client.get("/recurring/").content.decode()
    assert "Café Rosa bread" in listing and 'aria-current="page">Recurring' in listing
    edit = client.get(f"/recurring/{schedule.pk}/edit/").content.decode()
    assert 'value="Café Rosa bread"' in edit
    with schema_context("alpha"):
        made = Order.objects.get(source="recurring")
    order_page = client.get(f"/orders/{made.pk}/").content.decode()
    assert f'made by the schedule <a href="/recurring/{schedule.pk}/">Café Rosa bread</a>' in (
        order_page
    )


def test_errors_are_shown_on_their_fields(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.post(
        "/recurring/new/", _form(customer_name="", advanced_rule="FREQ=HOURLY", lat="", lng="")
    ).content.decode()
    assert "Please correct the errors below." in page
    assert "more than once a day" in page
    assert "This field is required." in page
    with schema_context("alpha"):
        assert not RecurringOrder.objects.exists()


def test_the_preview_shows_the_next_days_or_what_is_wrong(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    days = client.post(
        "/recurring/preview/", _form(frequency="DAILY", weekdays=[])
    ).content.decode()
    assert days.count("<li>") == 6 and "FREQ=DAILY" in days
    wrong = client.post("/recurring/preview/", _form(advanced_rule="FREQ=MINUTELY")).content
    assert b"more than once a day" in wrong
    no_start = client.post("/recurring/preview/", _form(starts_on="")).content
    assert b"Choose the first day" in no_start


def test_skip_move_undo_and_cancel_from_the_schedule_page(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context("alpha"):
        schedule = services.recurring_create(
            name="Daily",
            template={"customer_name": "Rosa", "lat": 51.5, "lng": -0.1},
            rule="FREQ=DAILY",
            starts_on=tenant_today(1),
            lead_days=3,
        )
    day = tenant_today(2)
    answer = client.post(
        f"/recurring/{schedule.pk}/exceptions/", {"date": day.isoformat(), "action": "skip"}
    )
    assert answer.status_code == 302
    page = client.get(answer.url).content.decode()
    assert "skipped." in page and "1 order cancelled." in page
    moved = client.post(
        f"/recurring/{schedule.pk}/exceptions/",
        {"date": tenant_today(3).isoformat(), "action": "move", "moved_to": ""},
        follow=True,
    ).content.decode()
    assert "Choose the day to move it to" in moved
    undo = client.post(f"/recurring/{schedule.pk}/exceptions/{day}/remove/", follow=True)
    assert "1 order created." in undo.content.decode()
    cancelled = client.post(f"/recurring/{schedule.pk}/cancel/", follow=True).content.decode()
    assert "it makes no more orders" in cancelled and "3 orders cancelled." in cancelled
    assert client.get(f"/recurring/{schedule.pk}/edit/").status_code == 404


def test_another_tenants_schedule_and_a_driver_get_nowhere(alpha, beta):
    with schema_context("beta"):
        RecurringOrder.objects.create(
            pk=SAME_ID, name="Beta's", template={}, rule="FREQ=DAILY", starts_on=tenant_today()
        )
    client = login_client(alpha.host, alpha.dispatcher_email)
    assert client.get(f"/recurring/{SAME_ID}/").status_code == 404
    assert client.post(f"/recurring/{SAME_ID}/cancel/").status_code == 404
    skip = {"date": tenant_today(1).isoformat(), "action": "skip"}
    assert client.post(f"/recurring/{SAME_ID}/exceptions/", skip).status_code == 404
    assert "Beta's" not in client.get("/recurring/").content.decode()
    driver = login_client(alpha.host, alpha.driver_email)
    assert driver.get("/recurring/").status_code == 403
    with schema_context("beta"):
        assert RecurringOrder.objects.get(pk=SAME_ID).cancelled_at is None


def test_the_edit_form_shows_the_templates_pickup(alpha):
    pickup = {
        "name": "Bakery",
        "address_line1": "2 Mill Lane",
        "time_windows": [{"start": "07:00", "end": "08:00"}],
        "service_s": 600,
    }
    with schema_context("alpha"):
        schedule = services.recurring_create(
            name="Bread run",
            template={"customer_name": "Rosa", "lat": 51.5, "lng": -0.1, "pickup": pickup},
            rule="FREQ=DAILY",
            starts_on=tenant_today(1),
            lead_days=0,
        )
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.get(f"/recurring/{schedule.pk}/edit/").content.decode()
    for value in ('value="Bakery"', 'value="2 Mill Lane"', 'value="07:00"', 'value="10.0"'):
        assert value in page


def test_the_form_sent_twice_makes_one_schedule(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    form = client.get("/recurring/new/").content.decode()
    key = re.search(r'name="submission" value="([0-9a-f]+)"', form).group(1)
    first = client.post("/recurring/new/", _form(submission=key))
    again = client.post("/recurring/new/", _form(submission=key))  # a double click
    assert first.status_code == again.status_code == 302
    assert first.url == again.url
    other = client.post("/recurring/new/", _form(submission="another-form"))
    assert other.url != first.url
    with schema_context("alpha"):
        assert RecurringOrder.objects.count() == 2
        assert Order.objects.filter(source="recurring").count() == 2


@pytest.mark.parametrize("starts_on", ["0001-01-01", "1999-12-31", "9999-12-31"])
def test_the_preview_refuses_a_first_day_a_schedule_could_not_have(alpha, starts_on):
    """As saving does: a daily rule from the year 1 would be walked for ~700,000 days."""
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.post(
        "/recurring/preview/", _form(frequency="DAILY", weekdays=[], starts_on=starts_on)
    ).content.decode()
    assert 'id="preview-errors"' in page and "Choose a day from 2000-01-01" in page
    assert "preview-days" not in page
