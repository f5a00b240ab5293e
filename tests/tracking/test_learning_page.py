"""The Learned times page (/settings/learning/): who may see it and change it, what it shows
of the learned tables (the held-out measurement, the week's hours with the configured rush
hours where the data is thin, the areas, the slowest doors), "Learn now" queued once
however often it is clicked, and one tenant's learning never on another's page."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.models import AuditEvent
from dispatch.models import Order
from routing.models import LearningRun, ServiceObservation, ServiceTime, TravelFactor
from routing.services.corrections import MIN_LEGS, address_key, cell_of
from tenants.models import Tenant
from tests.conftest import host_client, login_client, tenant_today
from tracking.views.learning import cell_bounds, learned_week

pytestmark = pytest.mark.django_db

URL = "/settings/learning/"
#: Central London: the learned area and the slow door of alpha's tests.
DOOR = (51.50731, -0.12766)
#: Monday 09:00-10:00 is a configured rush hour of factor 1.3 in these tests.
RUSH = [{"days": [0], "start": "09:00", "end": "10:00", "factor": 1.3}]


@pytest.fixture(autouse=True)
def _no_learning_asked():
    """ "Learn now" keeps its 'asked for' mark in the cache: none from another test."""
    cache.clear()
    yield
    cache.clear()


class _Week(HTMLParser):
    """The week grid's cells: {(weekday, hour): attributes of the <td>}."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.row = -1
        self.col = 0
        self.cells: dict[tuple[int, int], dict[str, str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "week-grid":
            self.inside = True
        elif self.inside and tag == "tr":
            self.row += 1
            self.col = 0
        elif self.inside and tag == "td" and "data-factor" in attrs:
            self.cells[(self.row - 1, self.col)] = attrs  # row 0 is the hours' head
            self.col += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False


def week_of(page: str) -> dict[tuple[int, int], dict[str, str]]:
    parser = _Week()
    parser.feed(page)
    return parser.cells


def learned_rows(*, factor: float = 1.4, door: tuple[float, float] = DOOR, street: str) -> None:
    """A finished run measured on 7 held-out days, in the current schema: Monday 08:00
    learned (12 legs), Monday 09:00 too thin (3 legs), one area, a slow door at `door`
    (with an order there on `street`), customers and sizes."""
    now = timezone.now()
    LearningRun.objects.create(
        status=LearningRun.Status.DONE,
        started_at=now - dt.timedelta(minutes=5),
        finished_at=now - dt.timedelta(minutes=4),
        duration_s=42.0,
        days_read=60,
        legs=1830,
        visits=2410,
        first_date=tenant_today(-67),
        last_date=tenant_today(-1),
        eval_days=7,
        eval_stops=311,
        mae_before_s=540.0,
        mae_after_s=300.0,
        inside_before=0.71,
        inside_after=0.86,
    )
    TravelFactor.objects.create(kind="hour", key="8", factor=factor, legs=12)
    TravelFactor.objects.create(kind="hour", key="9", factor=2.0, legs=3)  # thin
    TravelFactor.objects.create(kind="area", key=cell_of(*door), factor=1.25, legs=20)
    TravelFactor.objects.create(
        kind="area", key=cell_of(door[0] + 0.1, door[1]), factor=1.1, legs=2
    )
    order = Order.objects.create(
        customer_name="Slow door",
        address_line1=street,
        city="London",
        lat=door[0],
        lng=door[1],
        delivery_date=tenant_today(-3),
        status="delivered",
    )
    key = address_key(*door)
    ServiceObservation.objects.create(
        date=tenant_today(-3),
        order=order,
        address_key=key,
        size=0,
        configured_s=180,
        observed_s=430,
    )
    ServiceTime.objects.create(level="address", key=key, delta_s=250, median_s=430, visits=6)
    ServiceTime.objects.create(
        level="address", key=address_key(51.6, -0.2), delta_s=900, median_s=1080, visits=2
    )  # thin: not among the slowest
    for n, visits in enumerate((5, 4, 1)):
        ServiceTime.objects.create(
            level="customer", key=f"c{n}", delta_s=30, median_s=210, visits=visits
        )
    ServiceTime.objects.create(level="size", key="3", delta_s=95, median_s=395, visits=9)


def test_owners_and_dispatchers_see_the_page_drivers_and_strangers_do_not(alpha):
    assert login_client(alpha.host, alpha.owner_email).get(URL).status_code == 200
    assert login_client(alpha.host, alpha.dispatcher_email).get(URL).status_code == 200
    assert login_client(alpha.host, alpha.driver_email).get(URL).status_code == 403
    anonymous = host_client(alpha.host).get(URL)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    for path in (URL + "switch", URL + "run"):
        assert host_client(alpha.host).post(path).status_code == 302
        assert login_client(alpha.host, alpha.driver_email).post(path).status_code == 403


def test_the_settings_menu_links_the_page_for_owners_and_dispatchers(alpha):
    for email in (alpha.owner_email, alpha.dispatcher_email):
        page = login_client(alpha.host, email).get("/").content.decode()
        assert f'href="{URL}"' in page and "Learned times" in page


def test_before_any_run_the_page_says_what_will_happen(alpha):
    page = login_client(alpha.host, alpha.owner_email).get(URL).content.decode()
    assert 'id="learning-empty"' in page
    assert "Nothing learned yet" in page and "Every night" in page and "driver app" in page
    assert f"at least {MIN_LEGS} drives back it" in page and "at least 3 visits" in page
    assert 'id="learn-now"' in page and "Learn now" in page
    assert 'id="week-grid"' not in page  # nothing learned to show


def test_the_page_shows_the_measurement_the_week_the_areas_and_the_doors(alpha):
    with schema_context(alpha.tenant.schema_name):
        Tenant.objects.filter(pk=alpha.tenant.pk).update(rush_hours=RUSH)
        learned_rows(street="1 Slow Stairs Road")
    page = login_client(alpha.host, alpha.dispatcher_email).get(URL).content.decode()

    # the honest measurement, on days the learner did not see
    assert (
        "On the last 7 days, which the learner did not see, ETAs were off by 9\xa0min on "
        "average without learning and 5\xa0min with it; 71% → 86% of arrivals inside the "
        "promised window." in page
    )
    assert "\u221244%" in page  # the error fell by 44% (a minus sign)
    assert "+15 pts" in page
    assert "42 s" in page and ">1,830<" in page and ">2,410<" in page and ">60<" in page
    assert "311 arrivals replayed" in page and "The run of" not in page

    # the week: learned where 5 or more legs back an hour, the rush hours elsewhere
    week = week_of(page)
    assert len(week) == 7 * 24
    monday_8, monday_9, monday_10 = week[(0, 8)], week[(0, 9)], week[(0, 10)]
    assert (monday_8["data-factor"], monday_8["data-legs"]) == ("1.40", "12")
    assert "data-fallback" not in monday_8 and monday_8["class"] == "f-slow3"
    assert (monday_9["data-factor"], monday_9["data-legs"]) == ("1.30", "3")  # thin: rush
    assert monday_9["data-fallback"] == "1" and "only 3 of 5 legs" in monday_9["title"]
    assert (monday_10["data-factor"], monday_10["data-fallback"]) == ("1.00", "1")
    assert week[(1, 8)]["data-factor"] == "1.00"  # Tuesday 08:00: neither learned nor rush

    # the areas: only the one with enough legs, with its bounds for the map
    south, west, north, east = cell_bounds(cell_of(*DOOR))
    assert south <= DOOR[0] < north and west <= DOOR[1] < east
    assert '"band": "slow2"' in page and f"[{south}, {west}]" in page
    assert page.count('class="factor-chip') == 1

    # the doors: the slow address by its order's address, typical visit, visits
    assert "1 Slow Stairs Road, London" in page
    assert "+4 min 10 s" in page and "7 min 10 s" in page
    assert "+15 min 00 s" not in page  # the thin address is not shown
    assert "Door time learned for 2 customers" in page
    assert "10 items or more" in page and "+1 min 35 s" in page


def test_the_weeks_fallback_is_the_configured_rush_hour_averaged_over_the_hour(alpha):
    half = [{"days": [2], "start": "07:30", "end": "09:00", "factor": 1.5}]
    with schema_context(alpha.tenant.schema_name):
        week = learned_week(half)
    assert week[2][7].factor == pytest.approx(1.25)  # half the hour at 1.5
    assert week[2][8].factor == pytest.approx(1.5) and not week[2][8].learned
    assert week[3][8].factor == 1.0


def test_the_owner_switches_learned_times_off_and_on_and_a_dispatcher_cannot(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get(URL).content.decode()
    assert 'role="switch" aria-checked="true"' in page
    response = owner.post(URL + "switch", {"use_learned_times": "off"})
    assert response.status_code == 302 and response["Location"] == URL
    assert Tenant.objects.get(pk=alpha.tenant.pk).use_learned_times is False
    with schema_context(alpha.tenant.schema_name):
        event = AuditEvent.objects.filter(action="settings.changed").latest("pk")
        assert (event.target, event.detail["use_learned_times"]) == ("learned times", False)
        assert event.actor == f"user:{alpha.owner_email}"
    page = owner.get(URL).content.decode()
    assert 'aria-checked="false"' in page and "Not in use" in page

    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.post(URL + "switch", {"use_learned_times": "on"}).status_code == 403
    assert Tenant.objects.get(pk=alpha.tenant.pk).use_learned_times is False
    page = dispatcher.get(URL).content.decode()
    assert "Only the account owner can change this." in page and 'role="switch"' not in page

    owner.post(URL + "switch", {"use_learned_times": "on"})
    assert Tenant.objects.get(pk=alpha.tenant.pk).use_learned_times is True
    with schema_context(alpha.tenant.schema_name):
        assert (
            AuditEvent.objects.filter(action="settings.changed", target="learned times").count()
            == 2
        )
    owner.post(URL + "switch", {"use_learned_times": "on"})  # as it is: nothing to audit
    with schema_context(alpha.tenant.schema_name):
        assert AuditEvent.objects.filter(target="learned times").count() == 2


def test_learn_now_is_queued_once_however_often_it_is_clicked(
    alpha, django_capture_on_commit_callbacks, monkeypatch
):
    import tenants.tasks

    queued = []
    monkeypatch.setattr(
        tenants.tasks,
        "enqueue_for_tenant",
        lambda job, *args, schema_name, task_name, **kw: queued.append(
            (job.__module__, job.__name__, schema_name, task_name)
        ),
    )
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = dispatcher.post(URL + "run", follow=True).content.decode()
        second = dispatcher.post(URL + "run", follow=True).content.decode()
        login_client(alpha.host, alpha.owner_email).post(URL + "run")
    assert "Learning from your drivers" in first
    assert "already under way" in second and 'data-busy="queued"' in second
    assert "Learning…" in second and 'id="learn-now" disabled' in second
    learn_callbacks = [c for c in callbacks if "enqueue_or_defer" in repr(c.__code__.co_names)]
    assert len(learn_callbacks) == 1
    learn_callbacks[0]()
    assert queued == [("tracking.tasks", "learn_now", alpha.tenant.schema_name, "learn-now")]

    # once that run has started, and finished, the button queues again
    with schema_context(alpha.tenant.schema_name):
        run = LearningRun.objects.create(status=LearningRun.Status.RUNNING)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        running = dispatcher.post(URL + "run", follow=True).content.decode()
    assert "already under way" in running and 'data-busy="running"' in running
    assert not callbacks
    with schema_context(alpha.tenant.schema_name):
        LearningRun.objects.filter(pk=run.pk).update(
            status=LearningRun.Status.DONE, finished_at=timezone.now()
        )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = dispatcher.post(URL + "run", follow=True).content.decode()
    assert "Learning from your drivers" in again and len(callbacks) == 1


def test_a_tenant_never_sees_another_tenants_learning(alpha, beta):
    with schema_context(beta.tenant.schema_name):
        learned_rows(factor=1.77, door=(60.17, 24.94), street="9 Beta Lane")
        LearningRun.objects.update(mae_before_s=1234.0, mae_after_s=987.0)
    alpha_page = login_client(alpha.host, alpha.owner_email).get(URL).content.decode()
    assert 'id="learning-empty"' in alpha_page  # alpha has learned nothing
    for beta_value in ("9 Beta Lane", "1.77", "21\xa0min", "60.17", "Door time learned"):
        assert beta_value not in alpha_page

    with schema_context(alpha.tenant.schema_name):
        learned_rows(street="1 Slow Stairs Road")
    alpha_page = login_client(alpha.host, alpha.owner_email).get(URL).content.decode()
    assert "1 Slow Stairs Road" in alpha_page and "9 Beta Lane" not in alpha_page
    assert week_of(alpha_page)[(0, 8)]["data-factor"] == "1.40"
    beta_page = login_client(beta.host, beta.owner_email).get(URL).content.decode()
    assert "9 Beta Lane" in beta_page and "1 Slow Stairs Road" not in beta_page
    assert week_of(beta_page)[(0, 8)]["data-factor"] == "1.77"

    # alpha's owner cannot reach beta's switch or button through alpha's session
    alpha_owner = login_client(alpha.host, alpha.owner_email)
    alpha_owner.post(URL + "switch", {"use_learned_times": "off"})
    assert Tenant.objects.get(pk=beta.tenant.pk).use_learned_times is True
    assert Tenant.objects.get(pk=alpha.tenant.pk).use_learned_times is False
    stranger = alpha_owner.post(URL + "switch", {"use_learned_times": "off"}, HTTP_HOST=beta.host)
    assert stranger.status_code == 302 and "/login/" in stranger["Location"]
    assert Tenant.objects.get(pk=beta.tenant.pk).use_learned_times is True
