"""The multi-day planning pages: the form on the plans page, the days page, publishing one
day from it; tenants kept apart."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from routing.models import MultiDayPlan, Plan
from routing.services import multi_day
from tests.conftest import login_client
from tests.routing.test_multi_day import FIRST, _week

pytestmark = pytest.mark.django_db


def _form(**values) -> dict:
    data = {"first_date": str(FIRST), "days": 3, "seconds": 1, **values}
    return {f"several-{k}": v for k, v in data.items()}


def test_the_plans_page_queues_several_days_and_shows_them_solving(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        _week("mpg")
    page = client.get("/plans/").content.decode()
    assert "Plan several days" in page and 'name="several-days"' in page
    response = client.post("/plans/days/new", _form())
    assert response.status_code == 302
    with schema_context(alpha.tenant.schema_name):
        multi = MultiDayPlan.objects.get()
    assert response["Location"] == f"/plans/days/{multi.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Queued" in page and 'hx-trigger="every 1s"' in page  # polls while busy
    with schema_context(alpha.tenant.schema_name):
        multi_day.multi_day_solve(multi.pk)
    poll = client.get(f"/plans/days/{multi.pk}/status?was=busy")
    assert poll.status_code == 200 and poll["HX-Refresh"] == "true"
    assert b"hx-trigger" not in poll.content


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"days": 8}, "less than or equal to 7"),
        ({"days": "many"}, "Enter a whole number"),
        ({"first_date": "soon"}, "Enter a valid date"),
        ({"first_date": str(FIRST - dt.timedelta(days=5))}, "in the past"),
        ({"first_date": "9999-12-31"}, "more than a year ahead"),  # was a 500
        ({"seconds": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_input_shows_the_form_again_with_what_is_wrong(alpha, values, message):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.post("/plans/days/new", _form(**values))
    assert response.status_code == 400
    assert b"errorlist" in response.content and message in response.content.decode()
    with schema_context(alpha.tenant.schema_name):
        assert not MultiDayPlan.objects.exists()


def test_each_day_is_listed_and_published_from_the_days_page(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        fixed, _, _, _ = _week("mpp")
        multi = multi_day.multi_day_create(first_date=FIRST, days=3, seconds=1)
        multi_day.multi_day_solve(multi.pk)
        first, second, third = multi.plans.order_by("date")
    page = client.get(f"/plans/days/{multi.pk}/").content.decode()
    for plan in (first, second, third):
        assert f'href="/plans/{plan.pk}/"' in page
    assert page.count(">Publish</button>") == 3
    assert f'data-label="Orders">{len(fixed)}</td>' in page  # the first day's orders
    response = client.post(
        f"/plans/days/{multi.pk}/publish", {"plan": second.pk, "revision": second.revision}
    )
    assert response.status_code == 302 and response["Location"] == f"/plans/days/{multi.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "drivers have their routes" in page and page.count(">Publish</button>") == 2
    with schema_context(alpha.tenant.schema_name):
        assert [p.is_published for p in multi.plans.order_by("date")] == [False, True, False]
    again = client.post(f"/plans/days/{multi.pk}/publish", {"plan": second.pk})
    assert again.status_code == 302  # a double click: harmless
    assert client.post(f"/plans/days/{multi.pk}/publish", {"plan": "x"}).status_code == 302
    with schema_context(alpha.tenant.schema_name):
        other = Plan.objects.create(date=FIRST)  # not one of its days
    assert client.post(f"/plans/days/{multi.pk}/publish", {"plan": other.pk}).status_code == 404
    plans_page = client.get("/plans/").content.decode()
    assert f'href="/plans/days/{multi.pk}/"' in plans_page  # each day's row links back
    day_page = client.get(f"/plans/{first.pk}/").content.decode()
    assert f'href="/plans/days/{multi.pk}/"' in day_page


def test_a_day_left_out_as_published_is_said_so(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        _week("mps")
        Plan.objects.create(
            date=FIRST + dt.timedelta(days=1),
            status=Plan.Status.DONE,
            published_at=dt.datetime.now(dt.UTC),
        )
        multi = multi_day.multi_day_create(first_date=FIRST, days=3, seconds=1)
        multi_day.multi_day_solve(multi.pk)
    page = client.get(f"/plans/days/{multi.pk}/").content.decode()
    assert 'id="multi-day-skipped"' in page and "Already published: left as it is" in page
    assert page.count(">Publish</button>") == 2


def test_another_tenants_days_page_is_not_found(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        multi = MultiDayPlan.objects.create(first_date=FIRST, last_date=FIRST)
    other = login_client(beta.host, beta.dispatcher_email)
    assert other.get(f"/plans/days/{multi.pk}/").status_code == 404
    assert other.get(f"/plans/days/{multi.pk}/status").status_code == 404
    assert other.post(f"/plans/days/{multi.pk}/publish", {"plan": 1}).status_code == 404
