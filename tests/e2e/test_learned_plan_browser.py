"""The plan page in the browser says when what the drivers taught moved a time: the line on
top, the route's "Learned" chip and the note on the stop a slow address pushed back, on a
desktop and on a phone (screenshots kept in /tmp/h2-*.png)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tenants.utils import schema_context

from tests.e2e.conftest import csp_checked_page, live_tenant, sign_in
from tests.routing.factories import DAY, make_fleet_day

SLOW_S = 660  # the slow address takes 11 minutes more than configured


def test_the_plan_page_shows_the_learned_note_on_the_moved_stop(
    live_server_url, django_db_blocker, browser
):
    from routing.models import LearningRun, Plan, PlanRoute, ServiceTime
    from routing.services import corrections, plans
    from routing.services.routes import route_retime

    tenant = live_tenant(django_db_blocker, live_server_url, "learned")
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        fleet = make_fleet_day("lb", vans=1, orders=5, spread=0.02)
        plan = Plan.objects.create(
            date=DAY, depot=fleet.depot, seconds=1, queued_at=timezone.now()
        )  # solved here rather than by a worker
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        route = PlanRoute.objects.filter(plan=plan, stops__isnull=False).distinct().get()
        stops = list(route.stops.select_related("order").order_by("sequence"))
        slow, moved = stops[1].order, stops[2]
        ServiceTime.objects.create(
            level=ServiceTime.Level.ADDRESS,
            key=corrections.address_key(slow.lat, slow.lng),
            delta_s=SLOW_S,
            median_s=slow.service_s + SLOW_S,
            visits=6,
        )
        now = timezone.now()
        LearningRun.objects.create(
            status=LearningRun.Status.DONE,
            started_at=now,
            finished_at=now,
            days_read=30,
            first_date=DAY - dt.timedelta(days=40),
            last_date=DAY - dt.timedelta(days=11),
        )
        corrections.forget()
        route_retime(route)
        moved.refresh_from_db()
        assert moved.learned_shift_s == SLOW_S

    for width, height in ((1440, 900), (390, 844)):
        with csp_checked_page(browser, viewport={"width": width, "height": height}) as page:
            sign_in(page, tenant, tenant.owner_email)
            page.wait_for_url(lambda url: "/login/" not in url)
            page.goto(f"{tenant.url}/plans/{plan.pk}/")
            line = page.locator("#learning-line")
            assert "over their last 30 days" in line.inner_text()
            chip = page.locator(f"#route-{route.pk} .learned-chip")
            assert chip.inner_text().replace("\xa0", " ").startswith("Learned: +11 min")
            note = page.locator(f"#stop-{moved.order_id} .learned-note")
            note.scroll_into_view_if_needed()
            assert note.is_visible()
            text = note.inner_text().replace("\xa0", " ")
            assert "+11 min learned" in text and "from the stops before it" in text
            own = page.locator(f"#stop-{slow.pk} .learned-note").inner_text().replace("\xa0", " ")
            assert "this address took" in own and "on 6 visits" in own
            assert page.locator(f"#stop-{stops[0].order_id} .learned-note").count() == 0
            box = note.bounding_box()
            assert box is not None and box["width"] > 0
            page.screenshot(path=f"/tmp/h2-plan-{width}.png", full_page=True)
            page.locator(f"#route-{route.pk}").screenshot(path=f"/tmp/h2-route-{width}.png")
