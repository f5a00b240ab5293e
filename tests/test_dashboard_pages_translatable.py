"""The planning, reports, overview and settings pages go through Django's translation at
request time (issue 26, part 6). A pseudo-language wraps every translated text in ⟦ ⟧: a
text that shows wrapped was looked up when the page was drawn, one that shows bare was not
marked (or was translated once at import, which no later language would change)."""

from __future__ import annotations

import pytest
from django.utils import translation
from django_tenants.utils import schema_context

from routing.services import plans
from tests.conftest import login_client
from tests.routing.factories import DAY, make_fleet_day

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
        "Optimiser time (seconds)",  # a form label, lazy: looked up per request
        "Shortest total",  # a model choice
        "Plan several days",
        "Plan the days",
    ):
        assert _wrap(text) in listing, text
    detail = _page(client, f"/plans/{plan.pk}/")
    for text in ("Publish to drivers", "Timeline", "Add a vehicle", "Lock route"):
        assert _wrap(text) in detail, text
    # a sentence with values: one text, the values put in after the lookup
    assert _wrap(f"Plan #{plan.pk}") in detail


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
