"""The dispatcher's depot, vehicle and driver pages (server-rendered forms and tables)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_tenants.utils import schema_context

from dispatch.models import Depot, Driver, Vehicle
from dispatch.services import fleet
from tests.conftest import host_client, login_client

DEPOT_FORM = {
    "name": "Page yard",
    "address_line1": "2 Lane",
    "lat": "51.5",
    "lng": "-0.1",
    "opens_at": "07:00",
    "closes_at": "19:00",
}


@pytest.fixture
def dispatcher(alpha):
    return login_client(alpha.host, alpha.dispatcher_email)


def in_alpha(alpha):
    return schema_context(alpha.tenant.schema_name)


def test_url_names_of_the_fleet_pages():
    assert reverse("dashboard:depot-list") == "/fleet/depots/"
    assert reverse("dashboard:depot-create") == "/fleet/depots/new/"
    assert reverse("dashboard:depot-edit", args=[3]) == "/fleet/depots/3/"
    assert reverse("dashboard:vehicle-list") == "/fleet/vehicles/"
    assert reverse("dashboard:vehicle-create") == "/fleet/vehicles/new/"
    assert reverse("dashboard:vehicle-edit", args=[3]) == "/fleet/vehicles/3/"
    assert reverse("dashboard:driver-list") == "/fleet/drivers/"
    assert reverse("dashboard:driver-create") == "/fleet/drivers/new/"
    assert reverse("dashboard:driver-edit", args=[3]) == "/fleet/drivers/3/"


def test_dispatcher_creates_edits_and_deactivates_a_depot(alpha, dispatcher):
    page = dispatcher.get("/fleet/depots/new/").content.decode()
    assert '<label for="id_lat">Latitude' in page and 'type="time"' in page
    assert dispatcher.post("/fleet/depots/new/", DEPOT_FORM).status_code == 302
    with in_alpha(alpha):
        depot = Depot.objects.get(name="Page yard")
    listing = dispatcher.get("/fleet/depots/").content.decode()
    assert "Page yard" in listing and "<caption>1 depot, active first</caption>" in listing
    assert "depot-map" in listing  # the map of active depots

    bad = dispatcher.post(
        f"/fleet/depots/{depot.pk}/", {**DEPOT_FORM, "opens_at": "19:00", "closes_at": "07:00"}
    )
    assert bad.status_code == 200
    assert "The depot must open before it closes." in bad.content.decode()
    renamed = dispatcher.post(f"/fleet/depots/{depot.pk}/", {**DEPOT_FORM, "name": "Yard 2"})
    assert renamed.status_code == 302
    deactivated = dispatcher.post(f"/fleet/depots/{depot.pk}/deactivate/", follow=True)
    assert "Yard 2 is deactivated." in deactivated.content.decode()
    with in_alpha(alpha):
        assert Depot.objects.get(pk=depot.pk).is_active is False
    reactivated = dispatcher.post(f"/fleet/depots/{depot.pk}/reactivate/", follow=True)
    assert "Yard 2 is active again." in reactivated.content.decode()


def test_depot_form_shows_why_an_address_was_not_located(dispatcher):
    form = {**DEPOT_FORM, "address_line1": "1 Unknown Road, Nowhere", "lat": "", "lng": ""}
    response = dispatcher.post("/fleet/depots/new/", form)
    assert response.status_code == 200
    page = response.content.decode()
    assert "This address could not be located" in page and "Please correct the errors" in page
    assert 'value="1 Unknown Road, Nowhere"' in page  # what was typed is kept


def test_dispatcher_manages_vehicles_and_a_used_depot_stays_active(alpha, dispatcher):
    with in_alpha(alpha):
        depot = fleet.depot_create(name="Hub", lat=51.5, lng=-0.1)
    created = dispatcher.post(
        "/fleet/vehicles/new/",
        {
            "name": "Page van",
            "start_depot": depot.pk,
            "skills": "Fridge, ramp, fridge",
            "capacity_items": "80",
            "cost_per_km": "0.3",
            "max_route_minutes": "480",
        },
    )
    assert created.status_code == 302, created.content.decode()[:3000]
    with in_alpha(alpha):
        van = Vehicle.objects.get(name="Page van")
    assert (van.skills, van.max_route_duration_s, van.capacity_weight_kg) == (
        ["fridge", "ramp"],
        480 * 60,
        None,
    )
    listing = dispatcher.get("/fleet/vehicles/").content.decode().replace("\u00a0", " ")
    assert "Page van" in listing and "fridge, ramp" in listing and "8 h" in listing
    edit = dispatcher.get(f"/fleet/vehicles/{van.pk}/").content.decode()
    assert 'value="fridge, ramp"' in edit and 'value="480"' in edit

    bad = dispatcher.post(
        f"/fleet/vehicles/{van.pk}/",
        {"name": "Page van", "start_depot": depot.pk, "cost_per_km": "-1", "max_stops": "0"},
    )
    page = bad.content.decode()
    assert bad.status_code == 200 and "Enter 0 or more." in page and "Between 1 and" in page

    refused = dispatcher.post(f"/fleet/depots/{depot.pk}/deactivate/", follow=True)
    assert "Active vehicles start or end here: Page van." in refused.content.decode()
    dispatcher.post(f"/fleet/vehicles/{van.pk}/deactivate/")
    listing = dispatcher.get("/fleet/vehicles/").content.decode()
    assert "Deactivated" in listing and "Re-activate" in listing


def test_dispatcher_manages_drivers(alpha, dispatcher):
    with in_alpha(alpha):
        depot = fleet.depot_create(name="Hub", lat=51.5, lng=-0.1)
        van = fleet.vehicle_create(name="Van A", start_depot=depot)

    def login_options(path: str) -> list[str]:
        page = dispatcher.get(path).content.decode()
        select = page[page.index('<select name="user"') :]
        return [line for line in select[: select.index("</select>")].splitlines() if "@" in line]

    assert login_options("/fleet/drivers/new/") == [  # only free driver logins are offered
        f'  <option value="{alpha.user_ids[alpha.driver_email]}">{alpha.driver_email}</option>'
    ]
    bad = dispatcher.post(
        "/fleet/drivers/new/",
        {
            "name": "Page driver",
            "phone": "07700 900",
            "shift_start": "08:00",
            "shift_end": "16:00",
            "break_start": "15:50",
            "break_minutes": "30",
        },
    )
    page = bad.content.decode()
    assert bad.status_code == 200
    assert "is not a valid phone number" in page
    assert "The break must end before the shift does." in page
    created = dispatcher.post(
        "/fleet/drivers/new/",
        {
            "name": "Page driver",
            "phone": "020 7946 0333",
            "shift_start": "08:00",
            "shift_end": "16:00",
            "break_start": "12:00",
            "break_minutes": "30",
            "user": alpha.user_ids[alpha.driver_email],
            "default_vehicle": van.pk,
        },
    )
    assert created.status_code == 302, created.content.decode()[:3000]
    with in_alpha(alpha):
        driver = Driver.objects.get(name="Page driver")
    assert (driver.phone, driver.break_duration_s, driver.user.email) == (
        "+442079460333",
        1800,
        alpha.driver_email,
    )
    listing = dispatcher.get("/fleet/drivers/").content.decode().replace("\u00a0", " ")
    # the stored +442079460333 as a business in Britain writes it
    assert "020 7946 0333" in listing and "30 min from 12:00" in listing and "Van A" in listing
    # The login is taken now: another driver's form does not offer it.
    assert login_options("/fleet/drivers/new/") == []
    assert len(login_options(f"/fleet/drivers/{driver.pk}/")) == 1
    dispatcher.post(f"/fleet/drivers/{driver.pk}/deactivate/")
    with in_alpha(alpha):
        assert Driver.objects.get(pk=driver.pk).is_active is False


def test_lists_put_active_items_first_and_search_by_name(alpha, dispatcher):
    with in_alpha(alpha):
        alder = fleet.depot_create(name="Alder", lat=51.5, lng=-0.1, is_active=False)
        birch = fleet.depot_create(name="Birch", lat=51.5, lng=-0.1)
    page = dispatcher.get("/fleet/depots/").content.decode()
    assert page.index(f'id="depot-{birch.pk}"') < page.index(f'id="depot-{alder.pk}"')
    page = dispatcher.get("/fleet/depots/?search=ald").content.decode()
    assert f'id="depot-{alder.pk}"' in page and f'id="depot-{birch.pk}"' not in page


def test_only_dispatchers_and_owners_manage_the_fleet(alpha, beta):
    with schema_context(beta.tenant.schema_name):
        beta_ids = [fleet.depot_create(name=f"B{n}", lat=51, lng=0).pk for n in range(3)]
    with in_alpha(alpha):
        alpha_depot = fleet.depot_create(name="A", lat=51, lng=0)
    owner = login_client(alpha.host, alpha.owner_email)
    driver = login_client(alpha.host, alpha.driver_email)
    for path in ("/fleet/depots/", "/fleet/vehicles/new/", "/fleet/drivers/"):
        assert owner.get(path).status_code == 200
        assert driver.get(path).status_code == 403
        assert host_client(alpha.host).get(path).status_code == 302  # to the login page
    assert driver.post(f"/fleet/depots/{alpha_depot.pk}/deactivate/").status_code == 403
    assert owner.get(f"/fleet/depots/{alpha_depot.pk}/deactivate/").status_code == 405
    for pk in set(beta_ids) - {alpha_depot.pk}:  # beta's rows do not exist on alpha's host
        assert owner.get(f"/fleet/depots/{pk}/").status_code == 404
        assert owner.post(f"/fleet/depots/{pk}/deactivate/").status_code == 404
    with in_alpha(alpha):
        assert Depot.objects.get().is_active
