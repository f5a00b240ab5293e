"""Parcel labels: one per order stop of a route, in driving order, as a PDF read back here
(the text a label prints, its pages); any customer's name prints; dispatchers only, and a
tenant's labels never show another's stops (ids repeat across schemas)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from pypdf import PdfReader

from routing.models import Plan, PlanRoute, PlanStop
from routing.services import labels
from tenants.models import Tenant
from tests.conftest import host_client, login_client
from tests.routing.factories import DAY, make_fleet_day

pytestmark = pytest.mark.django_db


def pages_of(content: bytes) -> list[str]:
    """The text of each page of a PDF."""
    assert content.startswith(b"%PDF")
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def route_of(
    prefix: str,
    *,
    orders: int = 3,
    plan: Plan | None = None,
    plan_pk: int | None = None,
    route_pk: int | None = None,
) -> PlanRoute:
    """A route (of a new plan unless given) with `orders` stops and the driver's break
    after the first, in the current schema."""
    day = make_fleet_day(prefix, vans=1, orders=orders, windows=True)
    if plan is None:
        plan = Plan.objects.create(pk=plan_pk, date=DAY, status=Plan.Status.DONE)
    at = timezone.make_aware(dt.datetime.combine(DAY, dt.time(8)))
    route = PlanRoute.objects.create(
        pk=route_pk,
        plan=plan,
        driver=day.drivers[0],
        vehicle=day.vans[0],
        starts_at=at,
        ends_at=at + dt.timedelta(hours=6),
        distance_m=12_000,
        duration_s=6 * 3600,
    )
    stops = [day.orders[0], None, *day.orders[1:]]
    for sequence, order in enumerate(stops, start=1):
        when = at + dt.timedelta(minutes=20 * sequence)
        PlanStop.objects.create(
            route=route,
            sequence=sequence,
            order=order,
            is_break=order is None,
            arrives_at=when,
            starts_at=when,
            departs_at=when + dt.timedelta(minutes=5),
        )
    return route


def label_order(route: PlanRoute) -> list[tuple[int, int]]:
    """(stop number, order id) of the route's order stops, in driving order."""
    return list(
        route.stops.exclude(order=None).order_by("sequence").values_list("sequence", "order_id")
    )


# --- the PDF -------------------------------------------------------------------------------


def test_a_route_prints_one_label_per_order_in_driving_order_on_4x6_pages(alpha):
    with schema_context(alpha.tenant.schema_name):
        route = route_of("four", orders=4)
        content = labels.route_labels_pdf(route, size="4x6")
        stops = label_order(route)
    pages = pages_of(content)
    assert len(pages) == 4 == len(stops)  # one a page, no label for the break
    assert [number for number, _ in stops] == [1, 3, 4, 5]  # the break is stop 2
    for text, (number, order_id) in zip(pages, stops, strict=True):
        assert f"ALPHA-{order_id}" in text
        assert str(number) in text.split("\n")


def test_an_a4_label_says_who_where_when_and_what_with_its_codes(alpha):
    with schema_context(alpha.tenant.schema_name):
        route = route_of("sheet", orders=2)
        first = route.stops.exclude(order=None).order_by("sequence").first().order
        first.customer_name = "Grace Hopper"
        first.address_line2 = "Flat 3"
        first.postcode = "N1 9GU"
        first.items = 4
        first.external_id = "SHOP-77"
        first.time_windows = [
            {"start": "09:00", "end": "12:00"},
            {"start": "14:00", "end": "16:30"},
        ]
        first.save()
        text = pages_of(labels.route_labels_pdf(route))[0]
    assert "Grace Hopper" in text
    assert "Flat 3" in text and "N1 9GU London" in text and "1 High Street" in text
    assert "09:00\u201312:00, 14:00\u201316:30" in text  # the tenant's clock (Britain)
    assert "4 items" in text
    assert f"ALPHA-{first.pk}" in text and "SHOP-77" in text
    assert "sheet driver 1" in text and "sheet van 1" in text
    assert "sheet customer 2" in text  # both labels on the one A4 page


def test_times_are_written_on_the_tenants_clock(alpha):
    with schema_context(alpha.tenant.schema_name):
        Tenant.objects.filter(pk=alpha.tenant.pk).update(country="US", locale="en-us")
        route = route_of("clock", orders=1)
        order = route.stops.exclude(order=None).get().order
        order.time_windows = [{"start": "09:00", "end": "14:30"}]
        order.save()
        text = pages_of(labels.route_labels_pdf(route))[0]
    assert "9:00 AM\u20132:30 PM" in text


def test_a4_sheets_hold_eight_labels_and_each_route_of_a_plan_starts_a_page(alpha):
    with schema_context(alpha.tenant.schema_name):
        first = route_of("grid", orders=9)
        second = route_of("grid2", orders=2, plan=first.plan)
        route_pages = pages_of(labels.route_labels_pdf(first))
        plan_pages = pages_of(labels.plan_labels_pdf(first.plan))
        tall = pages_of(labels.plan_labels_pdf(first.plan, size="4x6"))
        second_orders = [o for _, o in label_order(second)]
    assert len(route_pages) == 2  # 8 + 1
    assert len(plan_pages) == 3  # the second route from a new page
    assert all(f"ALPHA-{o}" in plan_pages[2] for o in second_orders)
    assert "grid2 customer" not in plan_pages[1]
    assert len(tall) == 11


@pytest.mark.parametrize(
    ("name", "printed"),
    [
        ("Łukasz 東京", "Łukasz ??"),  # no CJK in the fonts: "?", never a crash
        ("Zoë Ångström", "Zoë Ångström"),
        ("Ωμέγα Иван", "Ωμέγα Иван"),
        ("\x07bell\x1b", "bell"),
        ("x" * 150, "x" * 12),  # cut to the label's width
        ("שלום", None),  # right to left: see the next test
        ("محمد", None),
    ],
)
def test_any_customer_name_prints(alpha, name, printed):
    with schema_context(alpha.tenant.schema_name):
        route = route_of("uni", orders=1)
        order = route.stops.exclude(order=None).get().order
        order.customer_name = name
        order.address_line1 = "ul. Świętokrzyska 5 東京"
        order.save()
        for size in labels.LABEL_SIZES:
            text = pages_of(labels.route_labels_pdf(route, size=size))[0]
            assert f"ALPHA-{order.pk}" in text
            assert "Świętokrzyska 5" in text
            if printed:
                assert printed in text


def test_right_to_left_text_is_drawn_in_reading_order():
    font = labels._fonts()[0]
    assert labels.printable("שלום", font) == "םולש"
    assert labels.printable("שלום 5", font) == "5 םולש"
    assert labels.printable("Flat 3, שלום עולם", font) == "Flat 3, םלוע םולש"
    assert labels.printable("Ada 12", font) == "Ada 12"


def test_an_unknown_size_is_refused_and_an_empty_route_is_a_page_saying_so(alpha):
    with schema_context(alpha.tenant.schema_name):
        route = route_of("empty", orders=1)
        with pytest.raises(ValueError, match="a4, 4x6"):
            labels.route_labels_pdf(route, size="letter")
        route.stops.all().delete()
        assert [p.strip() for p in pages_of(labels.route_labels_pdf(route))] == [
            "No stops to label."
        ]


# --- the pages -----------------------------------------------------------------------------


def test_a_dispatcher_downloads_a_routes_and_a_plans_labels(alpha):
    with schema_context(alpha.tenant.schema_name):
        route = route_of("dl", orders=2)
        orders = [o for _, o in label_order(route)]
    client = login_client(alpha.host, alpha.dispatcher_email)
    base = f"/plans/{route.plan_id}"

    response = client.get(f"{base}/routes/{route.pk}/labels.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="labels-{DAY}-plan-{route.plan_id}-route-{route.pk}-a4.pdf"'
    )
    text = pages_of(response.content)[0]
    assert all(f"ALPHA-{o}" in text for o in orders) and "dl customer 1" in text

    tall = client.get(f"{base}/routes/{route.pk}/labels.pdf", {"size": "4x6"})
    assert tall.status_code == 200 and len(pages_of(tall.content)) == 2
    assert tall["Content-Disposition"].endswith('-4x6.pdf"')

    whole = client.get(f"{base}/labels.pdf")
    assert whole.status_code == 200 and whole["Content-Type"] == "application/pdf"
    assert whole["Content-Disposition"] == (
        f'attachment; filename="labels-{DAY}-plan-{route.plan_id}-a4.pdf"'
    )
    assert client.get(f"{base}/labels.pdf", {"size": "A3"}).status_code == 400


def test_a_route_not_in_the_plan_is_404(alpha):
    with schema_context(alpha.tenant.schema_name):
        route = route_of("elsewhere", orders=1)
        other = Plan.objects.create(date=DAY, status=Plan.Status.DONE)
    client = login_client(alpha.host, alpha.dispatcher_email)
    assert client.get(f"/plans/{other.pk}/routes/{route.pk}/labels.pdf").status_code == 404
    assert client.get(f"/plans/{route.plan_id}/routes/999999/labels.pdf").status_code == 404
    assert client.get("/plans/999999/labels.pdf").status_code == 404


def test_drivers_are_refused_and_strangers_sent_to_sign_in(alpha):
    with schema_context(alpha.tenant.schema_name):
        route = route_of("who", orders=1)
    urls = [
        f"/plans/{route.plan_id}/routes/{route.pk}/labels.pdf",
        f"/plans/{route.plan_id}/labels.pdf",
    ]
    driver = login_client(alpha.host, alpha.driver_email)
    stranger = host_client(alpha.host)
    for url in urls:
        assert driver.get(url).status_code == 403, url
        answer = stranger.get(url)
        assert answer.status_code == 302 and answer["Location"].startswith("/login/"), url


def test_a_tenant_never_gets_anothers_labels_though_the_ids_repeat(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        route_of("alphalabel", plan_pk=7301, route_pk=7401)
        route_of("alphaonly", plan_pk=7302, route_pk=7402)
    with schema_context(beta.tenant.schema_name):
        theirs = route_of("betalabel", plan_pk=7301, route_pk=7403)
        their_orders = [o for _, o in label_order(theirs)]
    client = login_client(beta.host, beta.dispatcher_email)

    # the same plan id: beta's own plan, beta's stops, codes naming beta
    text = "".join(pages_of(client.get("/plans/7301/labels.pdf").content))
    assert "betalabel customer" in text and "alphalabel" not in text
    assert all(f"BETA-{o}" in text for o in their_orders) and "ALPHA-" not in text
    # alpha's route id under beta's plan, alpha's plan id: not found
    assert client.get("/plans/7301/routes/7401/labels.pdf").status_code == 404
    assert client.get("/plans/7302/labels.pdf").status_code == 404
    assert client.get("/plans/7302/routes/7402/labels.pdf").status_code == 404
    # beta's own route: beta's labels
    own = client.get("/plans/7301/routes/7403/labels.pdf")
    assert own.status_code == 200 and "alphalabel" not in "".join(pages_of(own.content))


def test_the_board_and_the_plan_page_link_to_the_labels(alpha):
    with schema_context(alpha.tenant.schema_name):
        route = route_of("links", orders=1)
        plan = route.plan
        Plan.objects.filter(pk=plan.pk).update(solved_at=timezone.now())
    client = login_client(alpha.host, alpha.dispatcher_email)
    route_url = f"/plans/{plan.pk}/routes/{route.pk}/labels.pdf"
    plan_url = f"/plans/{plan.pk}/labels.pdf"
    board = client.get(f"/plans/{plan.pk}/board").content.decode()
    assert f'href="{route_url}"' in board and f'href="{plan_url}"' in board
    assert f'href="{route_url}?size=4x6"' in board
    table = client.get(f"/plans/{plan.pk}/").content.decode()
    assert f'href="{route_url}"' in table and f'href="{plan_url}"' in table
    sheet = client.get(f"/plans/{plan.pk}/routes/{route.pk}/sheet").content.decode()
    assert f'href="{route_url}"' in sheet
