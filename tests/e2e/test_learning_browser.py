"""The Learned times page in Chromium, at 1440x900 and on a phone (390x844): before any
run it says what will happen; with learned rows it shows the held-out measurement, the
week's hours as a real table (scrolling sideways inside its card on the phone, never the
page), the areas on the map and the slowest doors; the owner flips the switch, a
dispatcher cannot; "Learn now" runs (the server runs jobs at once, Q_SYNC). Screenshots
go to /tmp/h5-*.png (and E2E_SCREENSHOTS)."""

from __future__ import annotations

import datetime as dt
import os
import random
from pathlib import Path

from django.utils import timezone
from django_tenants.utils import schema_context

from tests.conftest import tenant_today
from tests.e2e.conftest import csp_checked_page, live_tenant, sign_in, wait_until

SHOTS = Path(os.environ.get("E2E_SCREENSHOTS", "/tmp"))
LONDON = (51.5074, -0.1278)


def _learned(schema: str) -> None:
    """Ten nightly runs and what the newest learned: rush hours at 07-09 and 16-18 on
    weekdays, quick Sunday mornings, a ring of areas around central London, slow doors."""
    from dispatch.models import Order
    from routing.models import LearningRun, ServiceObservation, ServiceTime, TravelFactor
    from routing.services.corrections import address_key, cell_of

    rng = random.Random(27)
    now = timezone.now()
    with schema_context(schema):
        for night in range(10, 0, -1):
            started = now - dt.timedelta(days=night - 1, hours=3)
            LearningRun.objects.create(
                status=LearningRun.Status.FAILED if night == 6 else LearningRun.Status.DONE,
                started_at=started,
                finished_at=started + dt.timedelta(seconds=30 + night),
                duration_s=30.0 + night,
                days_read=80 - night,
                legs=17_000 - 40 * night,
                visits=21_000 - 50 * night,
                first_date=tenant_today(-90 - night),
                last_date=tenant_today(-night),
                eval_days=0 if night == 6 else 7,
                eval_stops=0 if night == 6 else 1_400 + night,
                mae_before_s=None if night == 6 else 540.0 + night,
                mae_after_s=None if night == 6 else 300.0 + night,
                inside_before=None if night == 6 else 0.71,
                inside_after=None if night == 6 else 0.86,
                error="worker restarted" if night == 6 else "",
            )
        for weekday in range(7):
            for hour in range(6, 21):
                legs = rng.randint(2, 40) if weekday < 6 else rng.randint(0, 7)
                factor = 1.0 + rng.uniform(-0.05, 0.06)
                if weekday < 5 and hour in (7, 8, 16, 17):
                    factor = 1.25 + rng.uniform(0, 0.3)
                if weekday == 6 and hour < 11:
                    factor = 0.86
                TravelFactor.objects.create(
                    kind="hour", key=str(weekday * 24 + hour), factor=factor, legs=legs
                )
        for dy in range(-3, 4):
            for dx in range(-4, 5):
                centre = abs(dx) + abs(dy)
                TravelFactor.objects.create(
                    kind="area",
                    key=cell_of(LONDON[0] + dy * 0.018, LONDON[1] + dx * 0.029),
                    factor=max(0.85, 1.45 - 0.12 * centre + rng.uniform(-0.05, 0.05)),
                    legs=rng.randint(6, 300),
                )
        streets = ["Flat 12, Barbican Tower", "3 Narrow Mews", "221 Baker Street", "7 Long Stairs"]
        for n in range(24):
            point = (LONDON[0] + rng.uniform(-0.05, 0.05), LONDON[1] + rng.uniform(-0.08, 0.08))
            key = address_key(*point)
            if n < len(streets):
                order = Order.objects.create(
                    customer_name=f"Door {n}",
                    address_line1=streets[n],
                    city="London",
                    postcode="EC2Y 8DS",
                    lat=point[0],
                    lng=point[1],
                    delivery_date=tenant_today(-2),
                    status="delivered",
                )
                ServiceObservation.objects.create(
                    date=tenant_today(-2),
                    order=order,
                    address_key=key,
                    size=0,
                    configured_s=180,
                    observed_s=600,
                )
            delta = 600 - n * 20
            ServiceTime.objects.create(
                level="address", key=key, delta_s=delta, median_s=180 + delta, visits=3 + n % 9
            )
        for n in range(40):
            ServiceTime.objects.create(
                level="customer", key=f"c{n}", delta_s=20, median_s=200, visits=2 + n % 5
            )
        for size, delta in ((0, -15), (1, 10), (2, 55), (3, 170)):
            ServiceTime.objects.create(
                level="size", key=str(size), delta_s=delta, median_s=180 + delta, visits=90
            )


def _fits(page, width: int) -> None:
    """Nothing but the week grid's own box scrolls sideways."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_the_learned_times_page_reads_well_and_the_owner_controls_it(
    live_server_url, django_db_blocker, browser
):
    from routing.models import LearningRun
    from tenants.models import Tenant

    tenant = live_tenant(
        django_db_blocker,
        live_server_url,
        "learn",
        users=(("dispatcher@learn.test", "dispatcher"),),
    )

    # before any run: what will happen, and the button
    with csp_checked_page(browser, viewport={"width": 390, "height": 844}) as phone:
        sign_in(phone, tenant, tenant.owner_email)
        phone.goto(f"{tenant.url}/settings/learning/")
        phone.get_by_role("heading", name="Nothing learned yet").wait_for()
        assert phone.get_by_role("button", name="Learn now").is_enabled()
        _fits(phone, 390)
        phone.screenshot(path=str(SHOTS / "h5-learning-empty-390.png"), full_page=True)

    with django_db_blocker.unblock():
        _learned(tenant.schema)

    with csp_checked_page(browser, viewport={"width": 1440, "height": 900}) as page:
        sign_in(page, tenant, tenant.owner_email)
        page.goto(f"{tenant.url}/settings/learning/")
        page.get_by_role("heading", name="Learned times", exact=True).wait_for()
        verdict = page.locator("#learning-verdict")
        assert "ETAs were off by 9\xa0min on average without learning and 5\xa0min with it" in (
            verdict.inner_text()
        )
        assert "71% → 86%" in verdict.inner_text()

        # the week is a real table: 7 day rows of 24 hours, headed by day and hour
        grid = page.get_by_role(
            "table", name="Travel-time factor and drives behind it, by day and local hour"
        )
        assert grid.locator("tbody th[scope=row]").count() == 7
        assert grid.locator("thead th[scope=col]").count() == 24
        assert grid.locator("tbody td").count() == 7 * 24
        sunday_night = grid.locator("tbody tr").nth(6).locator("td").nth(2)
        assert sunday_night.get_attribute("data-fallback") == "1"  # no legs: rush hours

        # the areas on the map, as squares, and in the list
        page.wait_for_function("() => document.querySelectorAll('#area-map path').length >= 60")
        assert page.locator("#area-table tbody tr").count() == 30
        assert page.get_by_text("Flat 12, Barbican Tower, EC2Y 8DS London").is_visible()
        assert page.locator("#door-table tbody tr").count() == 20

        # the switch: off, then on again, each saved and said
        switch = page.get_by_role("switch", name="Use learned times in plans and ETAs")
        assert switch.get_attribute("aria-checked") == "true"
        page.screenshot(path=str(SHOTS / "h5-learning-1440.png"), full_page=True)
        switch.click()
        page.get_by_text("without learning.", exact=False).wait_for()
        switch = page.get_by_role("switch", name="Use learned times in plans and ETAs")
        assert switch.get_attribute("aria-checked") == "false"
        assert page.locator("#learning-state").inner_text() == "Not in use"
        with django_db_blocker.unblock():
            assert Tenant.objects.get(schema_name=tenant.schema).use_learned_times is False
        switch.click()
        page.get_by_text("New plans and ETAs use the learned times.").wait_for()
        with django_db_blocker.unblock():
            assert Tenant.objects.get(schema_name=tenant.schema).use_learned_times is True

        # on a phone: the page fits, the week scrolls inside its own box
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        page.get_by_role("heading", name="Learned times", exact=True).wait_for()
        _fits(page, 390)
        box = page.locator(".week-wrap[role=region]")
        assert box.evaluate("el => el.scrollWidth > el.clientWidth")
        page.screenshot(path=str(SHOTS / "h5-learning-390.png"), full_page=True)
        history = page.locator("#run-history")
        assert history.get_attribute("open") is None  # one tap away on a phone
        history.locator("summary").click()
        page.locator("#runs-table").wait_for()
        # it opens at the first hour driven in (06:00), not at the empty small hours
        assert box.evaluate("el => el.scrollLeft") > 200
        box.screenshot(path=str(SHOTS / "h5-learning-week-390.png"))
        page.set_viewport_size({"width": 1440, "height": 900})

        # "Learn now": the server runs the job at once (Q_SYNC): a new run on the page
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            runs = LearningRun.objects.count()
        page.get_by_role("button", name="Learn now").click()
        page.get_by_text("Learning from your drivers' days now.").wait_for()

        def ran() -> bool:
            with django_db_blocker.unblock(), schema_context(tenant.schema):
                return LearningRun.objects.count() == runs + 1

        wait_until(ran, timeout=60)
        page.get_by_text("Learn now", exact=True).wait_for()  # not busy: the run is done
        page.screenshot(path=str(SHOTS / "h5-learning-after-run-1440.png"), full_page=True)

    with csp_checked_page(browser, viewport={"width": 1440, "height": 900}) as dispatcher:
        sign_in(dispatcher, tenant, "dispatcher@learn.test")
        dispatcher.goto(f"{tenant.url}/settings/learning/")
        dispatcher.get_by_text("Only the account owner can change this.").wait_for()
        assert dispatcher.get_by_role("switch").count() == 0
        assert dispatcher.get_by_role("button", name="Learn now").is_visible()
