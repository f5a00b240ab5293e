"""A business chooses its road region and its rush hours (Settings → Roads)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from audit.models import AuditEvent
from tenants.models import Tenant
from tenants.selectors import travel_source
from tenants.services.roads import clean_rush_hours, rush_factor, tenant_roads_update
from tests.conftest import login_client

pytestmark = pytest.mark.django_db
WEEKDAYS = [0, 1, 2, 3, 4]


def _rush(**row):
    return {"days": WEEKDAYS, "start": "07:00", "end": "09:00", "factor": 1.3, **row}


def test_rush_hours_are_checked_row_by_row():
    assert clean_rush_hours([_rush(days=[4, 0, 0], start="7:00")]) == [
        {"days": [0, 4], "start": "07:00", "end": "09:00", "factor": 1.3}
    ]
    bad = {
        "days are a list": _rush(days=[7]),
        "days are a list of": _rush(days=[True]),
        "local times": _rush(start="seven"),
        "end after it starts": _rush(start="09:00", end="08:00"),
        "is a number": _rush(factor="1.3"),
        "is a number, e": _rush(factor=True),
        "between 0.5 and 4": _rush(factor=9),
        "an object": "07:00-09:00",
    }
    for said, row in bad.items():
        with pytest.raises(ValidationError, match=said):
            clean_rush_hours([row])
    with pytest.raises(ValidationError, match="overlap"):
        clean_rush_hours([_rush(), _rush(days=[0], start="08:30", end="10:00")])
    with pytest.raises(ValidationError, match="A list"):
        clean_rush_hours({"days": [0]})
    with pytest.raises(ValidationError, match="At most 12"):
        clean_rush_hours(
            [
                _rush(days=[d % 7], start=f"{h:02d}:00", end=f"{h:02d}:30")
                for d, h in zip(range(13), range(13), strict=True)
            ]
        )


def test_the_factor_is_the_one_in_force_at_that_local_time():
    rows = clean_rush_hours([_rush(), _rush(days=[5], start="10:00", end="12:00", factor=1.5)])
    monday = dt.datetime(2026, 12, 7, 8, 15)
    assert rush_factor(rows, monday) == 1.3
    assert rush_factor(rows, monday.replace(hour=9)) == 1.0  # the end is not in it
    assert rush_factor(rows, monday + dt.timedelta(days=5, hours=3)) == 1.5  # Saturday 11:15
    assert rush_factor([], monday) == 1.0


def test_a_region_must_be_built_here_to_be_chosen(alpha, roads_for):
    roads_for(alpha, region="")  # roads on disk, none chosen yet
    tenant = Tenant.objects.get(pk=alpha.tenant.pk)
    with pytest.raises(ValidationError) as refused:
        tenant_roads_update(tenant=tenant, region="atlantis", profile="car", rush_hours=[])
    assert "No region 'atlantis' is built here" in str(refused.value)
    with pytest.raises(ValidationError, match="One of car, bicycle, foot"):
        tenant_roads_update(tenant=tenant, region="helsinki", profile="boat", rush_hours=[])
    with pytest.raises(ValidationError, match="for foot"):
        tenant_roads_update(tenant=tenant, region="helsinki", profile="foot", rush_hours=[])
    tenant.refresh_from_db()
    assert tenant.road_region == ""  # nothing saved
    tenant_roads_update(tenant=tenant, region="helsinki", profile="car", rush_hours=[_rush()])
    tenant.refresh_from_db()
    assert (tenant.road_region, tenant.road_profile, len(tenant.rush_hours)) == (
        "helsinki",
        "car",
        1,
    )
    assert travel_source(tenant).label == "Roads: helsinki (car)"
    with schema_context(tenant.schema_name):
        event = AuditEvent.objects.filter(action="settings.roads_changed").latest("pk")
    assert event.detail["region"] == "helsinki"


def test_the_roads_page_chooses_a_region_and_rush_hours(alpha, beta, roads_for):
    roads_for(alpha, region="")
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/settings/roads/").content.decode()
    assert "Times are estimates" in page and "no road region is chosen" in page
    assert 'value="helsinki/car"' in page and "OpenStreetMap contributors" in page
    form = {
        "road": "helsinki/car",
        "rush-TOTAL_FORMS": "2",
        "rush-INITIAL_FORMS": "0",
        "rush-0-days": ["0", "1", "2", "3", "4"],
        "rush-0-start": "07:30",
        "rush-0-end": "09:00",
        "rush-0-factor": "1.4",
    }
    response = owner.post("/settings/roads/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    connection.set_schema_to_public()
    alpha_row = Tenant.objects.get(pk=alpha.tenant.pk)
    assert alpha_row.road_region == "helsinki"
    assert alpha_row.rush_hours == [_rush(start="07:30", factor=1.4)]
    page = owner.get("/settings/roads/").content.decode()
    assert "Travel times: Roads: helsinki (car)" in page and 'value="07:30"' in page
    # the same ids in another business change nothing here
    assert Tenant.objects.get(pk=beta.tenant.pk).road_region == ""
    # a bad row: an error on the page, nothing saved
    form["rush-0-end"] = "07:00"
    response = owner.post("/settings/roads/", form)
    assert response.status_code == 200 and "end after it starts" in response.content.decode()
    connection.set_schema_to_public()
    assert Tenant.objects.get(pk=alpha.tenant.pk).rush_hours[0]["end"] == "09:00"
    # a dispatcher may not change them
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.post("/settings/roads/", form).status_code == 403


def test_a_region_removed_from_the_server_stays_shown_and_plans_say_why(alpha, roads_for):
    roads_for(alpha, region="gone")
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/settings/roads/").content.decode()
    assert "gone · Car or van (not built here)" in page
    assert "road region gone (car) is not built on this server" in page
