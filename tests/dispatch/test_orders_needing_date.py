"""Orders needing a date (their store's or file's date could not be read): on no day, in
no plan; the API lists and filters them (`needs_date`), the orders page and the board
show them with the text as written, and the dispatcher gives each its day. Tenant by
tenant."""

from __future__ import annotations

from django_tenants.utils import schema_context

from dispatch.models import Order
from dispatch.services.order_input import UnreadDate
from dispatch.services.orders import order_create
from dispatch.services.orders import order_reschedule as reschedule
from tests.conftest import api_client, login_client, tenant_today


def _undated(schema: str, written: str = "the day after the party", **fields) -> Order:
    data = {
        "customer_name": f"{schema} undated",
        "address_line1": "1 High Street",
        "delivery_date": UnreadDate(written),
        **fields,
    }
    with schema_context(schema):
        return order_create(data, source=Order.Source.SHOPIFY, actor="test")


def _dated(schema: str, **fields) -> Order:
    data = {
        "customer_name": f"{schema} dated",
        "address_line1": "2 High Street",
        "delivery_date": str(tenant_today(2)),
        **fields,
    }
    with schema_context(schema):
        return order_create(data, source=Order.Source.API, actor="test")


# --- the API ---------------------------------------------------------------------------


def test_the_api_lists_and_filters_orders_needing_a_date(alpha):
    undated, dated = _undated("alpha"), _dated("alpha")
    client = api_client(alpha.host, alpha.api_key)
    rows = {r["id"]: r for r in client.get("/api/v1/orders").json()["results"]}
    assert (rows[undated.pk]["delivery_date"], rows[undated.pk]["needs_date"]) == (None, True)
    assert rows[undated.pk]["delivery_date_as_written"] == "the day after the party"
    assert (rows[dated.pk]["needs_date"], rows[dated.pk]["delivery_date_as_written"]) == (
        False,
        "",
    )
    waiting = client.get("/api/v1/orders", {"needs_date": "true"}).json()["results"]
    assert [r["id"] for r in waiting] == [undated.pk]
    known = client.get("/api/v1/orders", {"needs_date": "false"}).json()["results"]
    assert [r["id"] for r in known] == [dated.pk]
    # an order on no day is on none of the days asked for
    day = client.get("/api/v1/orders", {"delivery_date": str(tenant_today(1))}).json()
    assert undated.pk not in [r["id"] for r in day["results"]]


def test_the_api_filter_shows_no_other_tenants_orders_needing_a_date(alpha, beta):
    _undated("beta", customer_name="Beta Secret")
    mine = _undated("alpha")
    body = api_client(alpha.host, alpha.api_key).get("/api/v1/orders", {"needs_date": "true"})
    assert [r["id"] for r in body.json()["results"]] == [mine.pk]
    assert b"Beta Secret" not in body.content


def test_the_api_stays_strictly_iso(alpha):
    client = api_client(alpha.host, alpha.api_key)
    day = tenant_today(3)
    for written in (f"{day:%Y/%m/%d}", f"{day:%d/%m/%Y}", "next tuesday"):
        body = {"customer_name": "Ann", "address_line1": "1 Road", "delivery_date": written}
        answer = client.post("/api/v1/orders", body, format="json")
        assert answer.status_code == 400, written
        assert list(answer.json()["errors"]) == ["delivery_date"]
    with schema_context("alpha"):
        assert not Order.objects.exists()


def test_a_patch_with_a_date_gives_the_order_its_day(alpha):
    order = _undated("alpha")
    client = api_client(alpha.host, alpha.api_key)
    day = tenant_today(4)
    answer = client.patch(f"/api/v1/orders/{order.pk}", {"delivery_date": str(day)}, format="json")
    assert answer.status_code == 200, answer.content
    assert (answer.json()["delivery_date"], answer.json()["needs_date"]) == (str(day), False)
    assert answer.json()["delivery_date_as_written"] == ""


# --- the dashboard ---------------------------------------------------------------------


def test_the_orders_page_shows_and_filters_orders_needing_a_date(alpha):
    undated, dated = _undated("alpha"), _dated("alpha")
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.get("/orders/").content.decode()
    assert "1</strong> order needs a date" in page
    assert "needs a date" in page and "the day after the party" in page
    waiting = client.get("/orders/", {"needs_date": "true"})
    assert [o.pk for o in waiting.context["page"]] == [undated.pk]
    assert f'action="/orders/{undated.pk}/date/"' in waiting.content.decode()
    assert dated.customer_name not in waiting.content.decode()


def test_the_dispatcher_gives_an_order_its_date(alpha):
    order = _undated("alpha", time_windows=[{"start": "09:00", "end": "12:00"}])
    client = login_client(alpha.host, alpha.dispatcher_email)
    day = tenant_today(2)
    answer = client.post(f"/orders/{order.pk}/date/", {"delivery_date": str(day)})
    assert answer.status_code == 302
    assert answer["Location"] == "/orders/?needs_date=true"
    with schema_context("alpha"):
        order.refresh_from_db()
    assert (order.delivery_date, order.needs_date, order.delivery_date_as_written) == (
        day,
        False,
        "",
    )
    assert order.time_windows == [{"start": "09:00", "end": "12:00"}]  # kept
    assert order.status == "unassigned"  # in that day's pool, to be planned


def test_a_bad_or_past_date_is_refused_with_a_message_and_nothing_changes(alpha):
    order = _undated("alpha")
    client = login_client(alpha.host, alpha.dispatcher_email)
    for value in ("", "not a day", str(tenant_today(-1)), "2026-12-06\x00"):
        answer = client.post(f"/orders/{order.pk}/date/", {"delivery_date": value}, follow=True)
        assert answer.status_code == 200
        assert any(m.level_tag == "error" for m in answer.context["messages"])
    with schema_context("alpha"):
        order.refresh_from_db()
    assert order.needs_date


def test_another_tenants_order_cannot_be_given_a_date(alpha, beta):
    theirs = _undated("beta", customer_name="Beta Secret")
    client = login_client(alpha.host, alpha.dispatcher_email)
    answer = client.post(f"/orders/{theirs.pk}/date/", {"delivery_date": str(tenant_today(2))})
    assert answer.status_code == 404
    with schema_context("beta"):
        theirs.refresh_from_db()
    assert theirs.needs_date
    assert b"Beta Secret" not in client.get("/orders/", {"needs_date": "true"}).content


def test_drivers_cannot_give_dates(alpha):
    order = _undated("alpha")
    client = login_client(alpha.host, alpha.driver_email)
    answer = client.post(f"/orders/{order.pk}/date/", {"delivery_date": str(tenant_today(2))})
    assert answer.status_code == 403


def test_the_detail_page_shows_what_was_written_and_offers_a_date(alpha):
    order = _undated("alpha")
    page = login_client(alpha.host, alpha.dispatcher_email).get(f"/orders/{order.pk}/")
    text = page.content.decode()
    assert "needs a date" in text and "the day after the party" in text
    assert "Give it a date" in text
    edit = login_client(alpha.host, alpha.dispatcher_email).get(f"/orders/{order.pk}/edit/")
    assert edit.status_code == 200


def test_the_board_counts_the_orders_needing_a_date(alpha, beta):
    _undated("alpha")
    _undated("alpha", written="soon")
    _undated("beta")
    page = login_client(alpha.host, alpha.dispatcher_email).get(
        "/board/", {"date": str(tenant_today(1))}
    )
    assert page.status_code == 200
    assert "<strong>2</strong> orders need a date" in page.content.decode()


def test_its_customer_is_confirmed_when_it_gets_its_day_not_before(
    alpha, django_capture_on_commit_callbacks
):
    from django_q.models import OrmQ

    from notifications.models import Notification
    from notifications.services import sending

    def confirmations_queued() -> int:
        name = f"{alpha.tenant.schema_name}:notify-confirmed"
        return sum(1 for q in OrmQ.objects.all() if q.name() == name)

    with schema_context("alpha"):
        before = confirmations_queued()
    with schema_context("alpha"), django_capture_on_commit_callbacks(execute=True):
        order = order_create(
            {
                "customer_name": "Ann Lee",
                "customer_email": "ann@example.com",
                "address_line1": "1 High Street",
                "delivery_date": UnreadDate("whenever suits"),
            },
            source=Order.Source.SHOPIFY,
            actor="test",
        )
    with schema_context("alpha"):
        assert confirmations_queued() == before  # nothing to tell it yet
        day = tenant_today(2)
        with django_capture_on_commit_callbacks(execute=True):
            reschedule(order=order, delivery_date=str(day), actor="test")
        assert confirmations_queued() == before + 1  # confirmed, not "rescheduled"
        assert sending.notify_orders([order.pk], "confirmed") == 1
        note = Notification.objects.get()
    assert (note.event, note.channel) == ("confirmed", "email")
    assert f"{day:%A} {day.day} {day:%B}" in note.body


def test_a_plan_leaves_it_out_and_the_planned_days_board_counts_it(alpha):
    from routing.models import Plan
    from routing.services import plans
    from tests.routing.factories import DAY, make_fleet_day

    with schema_context("alpha"):
        day = make_fleet_day("undated", vans=1, orders=2, spread=0.01)
    undated = _undated("alpha")
    with schema_context("alpha"):
        plan = Plan.objects.create(date=DAY, depot=day.depot, seconds=1)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        planned = set(plan.routes.values_list("stops__order", flat=True))
        pooled = set(plan.unassigned.values_list("order", flat=True))
        undated.refresh_from_db()
    assert undated.pk not in planned | pooled
    assert (undated.status, undated.delivery_date) == ("unassigned", None)
    client = login_client(alpha.host, alpha.dispatcher_email)
    count = "<strong>1</strong> needs a date"
    assert count in client.get(f"/plans/{plan.pk}/board").content.decode()
    head = client.get(f"/plans/{plan.pk}/board/state", {"part": "head"}).json()["head"]
    assert count in head
