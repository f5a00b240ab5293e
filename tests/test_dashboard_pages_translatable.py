"""The planning, reports, overview and settings pages go through Django's translation at
request time (issue 26, part 6). A pseudo-language wraps every translated text in ⟦ ⟧: a
text that shows wrapped was looked up when the page was drawn, one that shows bare was not
marked (or was translated once at import, which no later language would change)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from dispatch.models import Vehicle
from routing.services import plans
from tests.conftest import login_client
from tests.routing.factories import DAY, make_fleet_day
from webhooks.models import Delivery, Subscription

pytestmark = pytest.mark.django_db


def _wrap(text: str) -> str:
    return f"⟦{text}⟧"


@pytest.fixture
def pseudo(monkeypatch):
    """Every gettext, ngettext and pgettext of the process answers in the pseudo-language."""
    trans = translation._trans
    monkeypatch.setattr(trans, "gettext", _wrap)
    monkeypatch.setattr(trans, "ngettext", lambda one, many, n: _wrap(one if n == 1 else many))
    monkeypatch.setattr(trans, "pgettext", lambda context, text: _wrap(text))
    monkeypatch.setattr(
        trans, "npgettext", lambda context, one, many, n: _wrap(one if n == 1 else many)
    )


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def test_the_plan_pages_are_drawn_in_the_pseudo_language(alpha, pseudo):
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        day = make_fleet_day("i18n", vans=1, orders=2)
        plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
        plans.plan_solve(plan.pk)
    listing = _page(client, "/plans/")
    for text in (
        "Plan a day",
        "Date",  # a form field's label (not Django's name of the field)
        "Depot",
        "Optimiser time (seconds)",  # a form label, lazy: looked up per request
        "Shortest total",  # a model choice
        "Plan several days",
        "Plan the days",
    ):
        assert _wrap(text) in listing, text
    detail = _page(client, f"/plans/{plan.pk}/")
    for text in ("Publish to drivers", "Timeline", "Add a vehicle", "Lock route"):
        assert _wrap(text) in detail, text
    # the map's legend, stored in English, in the page's language inside its sentence
    legend = _wrap("Estimated: straight lines \u00d7 1.3")
    assert legend + " \u2014 " + _wrap("no road region is chosen in Settings → Roads") in detail
    # a sentence with values: one text, the values put in after the lookup
    assert _wrap(f"Plan #{plan.pk}") in detail
    assert _wrap("Depot") in _page(client, "/plans/days/new")
    board = _page(client, f"/plans/{plan.pk}/board")
    for text in ("Planned", "any time"):  # a stop's state and its window, from the service
        assert _wrap(text) in board, text


def test_the_overview_and_reports_are_drawn_in_the_pseudo_language(alpha, pseudo):
    client = login_client(alpha.host, alpha.dispatcher_email)
    overview = _page(client, "/")
    for text in ("Orders today", "Unassigned", "Failed, waiting to be rebooked", "Tomorrow"):
        assert _wrap(text) in overview, text
    reports = _page(client, "/reports/")
    for text in ("Reports", "Deliveries", "Stops per hour", "Customer ratings", "Per day"):
        assert _wrap(text) in reports, text


def test_the_owner_settings_are_drawn_in_the_pseudo_language(alpha, pseudo):
    client = login_client(alpha.host, alpha.owner_email)
    settings_page = _page(client, "/settings/")
    for text in (
        "Keep drivers' GPS history (days)",
        "Auto-dispatch today's new orders",
        "Delete this business",
    ):
        assert _wrap(text).replace("'", "&#x27;") in settings_page, text
    keys = _page(client, "/settings/api-keys/")
    for text in ("Create a key", "Read and write", "Last used"):
        assert _wrap(text) in keys, text
    roads = _page(client, "/settings/roads/")
    assert _wrap("Rush hours") in roads and _wrap("Mon") in roads  # the weekday chips


# every page: no English left unlooked-up -------------------------------------------------

_SKIP = {"script", "style", "code", "pre", "template", "textarea"}
_SHOWN_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "data-confirm")


class _Bare(HTMLParser):
    """The visible texts and attributes of a page, with what was looked up (⟦…⟧) taken
    out; what is left of words is English the page says without asking for a language."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping: list[str] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skipping.append(tag)
        for name, value in attrs:
            if name in _SHOWN_ATTRIBUTES and value:
                self.texts.append(f"\n[{name}] {value}\n")

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.texts.append(data)


def _bare_english(page: str) -> list[str]:
    parser = _Bare()
    parser.feed(page)
    # one text, since a looked-up sentence may hold tags (<code>, <strong>) inside it
    left, before = "".join(parser.texts), None
    while left != before:  # innermost first: a looked-up value may sit in a sentence
        left, before = re.sub(r"⟦[^⟦⟧]*⟧", "\n", left), left
    # two English words in a row (names and addresses of the fixtures are capitalised)
    return [
        " ".join(line.split())[:120]
        for line in left.splitlines()
        if re.search(r"\b[a-z]{3,} [a-z]{2,}\b", line)
    ]


DASHBOARD_PAGES = (
    "/",
    "/orders/",
    "/orders/new/",
    "/recurring/",
    "/recurring/new/",
    "/imports/",
    "/fleet/depots/",
    "/fleet/depots/new/",
    "/fleet/vehicles/",
    "/fleet/vehicles/new/",
    "/fleet/drivers/",
    "/fleet/drivers/new/",
    "/plans/",
    "/plans/days/new",
    "/reports/",
)
OWNER_PAGES = (
    "/settings/",
    "/settings/api-keys/",
    "/settings/roads/",
    "/settings/messages/",
    "/settings/webhooks/",
    "/settings/stores/",
    "/integrations/shopify/",
)


def test_no_dashboard_page_says_english_it_did_not_look_up(alpha, pseudo):
    with schema_context(alpha.tenant.schema_name):
        day = make_fleet_day("i18n", vans=1, orders=2)
        plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
        plans.plan_solve(plan.pk)
        Vehicle.objects.update(capacity_items=1, max_stops=1)  # one of each: the singular
        route = plan.routes.first()
        order = route.stops.first().order
        hook = Subscription.objects.create(url="https://example.com/hook", events=["order.created"])
        for status in Delivery.Status.values:
            Delivery.objects.create(
                subscription=hook,
                event="order.created",
                key=f"order.created:{status}",
                message_id=f"msg_{status}",
                payload={},
                status=status,
                attempts=1,
                next_attempt_at=timezone.now(),
                last_status_code=500,
                last_error="HTTP 500",
            )
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    owner = login_client(alpha.host, alpha.owner_email)
    bare = {}
    owner_pages = (*OWNER_PAGES, f"/settings/webhooks/{hook.pk}/")
    for client, paths in ((dispatcher, DASHBOARD_PAGES), (owner, owner_pages)):
        with_data = (
            f"/plans/{plan.pk}/",
            f"/plans/{plan.pk}/board",
            f"/plans/{plan.pk}/routes/{route.pk}/sheet",
            f"/orders/{order.pk}/",
            f"/orders/{order.pk}/edit/",
            "/live/",
        )
        for path in (*paths, *(with_data if client is dispatcher else ())):
            found = _bare_english(_page(client, path))
            if found:
                bare[path] = found
    vans = _page(dispatcher, "/fleet/vehicles/")
    assert _wrap("1 item") in vans and _wrap("1 stop") in vans
    assert not bare, "\n".join(f"{p}: {t}" for p, ts in bare.items() for t in ts)


def test_a_travel_source_stored_in_english_is_shown_in_the_pages_language(pseudo):
    from routing.templatetags.travel_words import travel_words

    assert travel_words("Estimated: straight lines \u00d7 1.3") == _wrap(
        "Estimated: straight lines \u00d7 1.3"
    )
    assert travel_words("road region fi (car) cannot be read: bad file") == _wrap(
        "road region fi (car) cannot be read: bad file"
    )
    assert travel_words("Roads: Helsinki (car)") == _wrap("Roads: Helsinki (car)")
    assert travel_words("something we never wrote") == "something we never wrote"
    legend = "Paths drawn straight \u2014 no road region is chosen in Settings \u2192 Roads"
    assert travel_words(legend) == (
        f"{_wrap('Paths drawn straight')} \u2014 "
        f"{_wrap('no road region is chosen in Settings → Roads')}"
    )
