"""A driver and their sign-in made in one go (issue 17): the driver form and the service
create the driver's user (role driver) and link it, or create nothing at all. Giving a
sign-in (a password someone can then use as the driver) is the team's business, so only
an owner may: a dispatcher and an API key are refused, with a field error."""

from __future__ import annotations

import html

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from audit.models import AuditEvent
from dispatch.models import Driver
from dispatch.services import fleet
from tests.conftest import PASSWORD, api_client, host_client, login_client

DRIVER_FORM = {
    "name": "Sid Driver",
    "phone": "07700 900123",
    "shift_start": "08:00",
    "shift_end": "17:00",
    "break_minutes": 0,
}


def in_schema(fixture):
    return schema_context(fixture.tenant.schema_name)


def owner_of(fixture) -> User:
    return User.objects.get(email=fixture.owner_email)


def errors_of(call, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as exc:
        call(**kwargs)
    return exc.value.message_dict


def nothing_made(email: str, name: str) -> bool:
    return not User.objects.filter(email=email).exists() and not (
        Driver.objects.filter(name=name).exists()
    )


OWNER_ONLY = fleet.SIGN_IN_OWNER_ONLY


# --- the service ------------------------------------------------------------------------


def test_driver_is_created_with_a_sign_in_of_the_driver_role(alpha):
    with in_schema(alpha):
        driver = fleet.driver_create(
            name="Sid",
            login_email=" Sid@Alpha.TEST ",
            login_password=PASSWORD,
            acting_user=owner_of(alpha),
        )
        user = User.objects.get(pk=driver.user_id)
        assert (user.email, user.role, user.name, user.is_active) == (
            "sid@alpha.test",
            User.Role.DRIVER,
            "Sid",
            True,
        )
        assert user.check_password(PASSWORD)
        assert AuditEvent.objects.filter(action="user.created", target="sid@alpha.test").exists()


@pytest.mark.parametrize(
    ("login", "errors"),
    [
        (
            {"login_email": "dispatcher@alpha.test", "login_password": PASSWORD},
            {"login_email": ["A user with this email already exists."]},
        ),
        (
            {"login_email": "DRIVER@alpha.test", "login_password": PASSWORD},
            {"login_email": ["A user with this email already exists."]},
        ),
        (
            {"login_email": "not-an-email", "login_password": PASSWORD},
            {"login_email": ["Enter a valid email address."]},
        ),
        (
            {"login_email": "pat@alpha.test", "login_password": "k9#Lm2"},
            {
                "login_password": [
                    "This password is too short. It must contain at least 10 characters."
                ]
            },
        ),
        (
            {"login_email": "nopass@alpha.test", "login_password": ""},
            {"login_password": ["Set a password for the sign-in, or leave the email empty."]},
        ),
        (
            {"login_email": "", "login_password": PASSWORD},
            {
                "login_email": [
                    "Give the email the driver signs in with, or leave the password empty."
                ]
            },
        ),
    ],
)
def test_a_bad_sign_in_is_a_field_error_and_nothing_is_created(alpha, login, errors):
    with in_schema(alpha):
        users_before = User.objects.count()
        assert (
            errors_of(fleet.driver_create, name="Half", acting_user=owner_of(alpha), **login)
            == errors
        )
        assert User.objects.count() == users_before
        assert not Driver.objects.filter(name="Half").exists()


def test_every_problem_is_reported_at_once(alpha):
    with in_schema(alpha):
        errors = errors_of(
            fleet.driver_create,
            name="Half",
            phone="12345",
            acting_user=owner_of(alpha),
            login_email=alpha.dispatcher_email,
            login_password=PASSWORD,
        )
        assert set(errors) == {"phone", "login_email"}


def test_a_refused_driver_leaves_no_sign_in_behind(alpha):
    """The user is made first (the driver needs its id) and undone with the driver."""
    import datetime as dt

    with in_schema(alpha):
        errors = errors_of(
            fleet.driver_create,
            name="Half",
            login_email="half@alpha.test",
            login_password=PASSWORD,
            shift_start=dt.time(18),
            shift_end=dt.time(9),
            acting_user=owner_of(alpha),
        )
        assert errors == {"shift_end": ["The shift must start before it ends."]}
        assert nothing_made("half@alpha.test", "Half")
        assert not AuditEvent.objects.filter(target="half@alpha.test").exists()


def test_an_existing_login_or_a_new_one_not_both(alpha):
    with in_schema(alpha):
        existing = User.objects.get(email=alpha.driver_email)
        errors = errors_of(
            fleet.driver_create,
            name="Both",
            user=existing,
            acting_user=owner_of(alpha),
            login_email="both@alpha.test",
            login_password=PASSWORD,
        )
        assert errors == {
            "login_email": ["Choose an existing sign-in or make a new one, not both."]
        }
        assert nothing_made("both@alpha.test", "Both")


def test_a_driver_without_a_sign_in_is_given_one_later(alpha):
    with in_schema(alpha):
        owner = owner_of(alpha)
        driver = fleet.driver_create(name="Later")
        driver = fleet.driver_update(
            driver=driver,
            data={"login_email": "later@alpha.test", "login_password": PASSWORD},
            acting_user=owner,
        )
        assert driver.user.email == "later@alpha.test"
        errors = errors_of(
            fleet.driver_update,
            driver=driver,
            acting_user=owner,
            data={"login_email": "again@alpha.test", "login_password": PASSWORD},
        )
        assert errors == {"login_email": ["Later already has a sign-in (later@alpha.test)."]}
        assert not User.objects.filter(email="again@alpha.test").exists()
        # empty sign-in fields (an edit form's) change nothing
        fleet.driver_update(driver=driver, data={"login_email": "", "login_password": ""})


def test_the_same_email_in_two_tenants_is_two_independent_sign_ins(alpha, beta):
    email = "same.driver@example.test"
    with in_schema(alpha):
        on_alpha = fleet.driver_create(
            name="Alpha Sam",
            login_email=email,
            login_password=PASSWORD,
            acting_user=owner_of(alpha),
        )
    with in_schema(beta):
        on_beta = fleet.driver_create(
            name="Beta Sam",
            login_email=email,
            login_password=f"beta-{PASSWORD}",
            acting_user=owner_of(beta),
        )
        assert User.objects.filter(email=email).count() == 1
    connection.set_schema_to_public()
    assert login_client(alpha.host, email).get("/driver/").status_code == 200
    assert login_client(beta.host, email, f"beta-{PASSWORD}").get("/driver/").status_code == 200
    wrong = host_client(beta.host).post("/login/", {"username": email, "password": PASSWORD})
    assert wrong.status_code == 200  # alpha's password is nothing on beta's host
    with in_schema(alpha):
        assert Driver.objects.get(pk=on_alpha.pk).user.email == email
        assert User.objects.filter(email=email).count() == 1
        assert not Driver.objects.filter(name="Beta Sam").exists()
    with in_schema(beta):
        assert Driver.objects.get(pk=on_beta.pk).name == "Beta Sam"


@pytest.mark.parametrize("who", ["dispatcher", "driver", "nobody"])
@pytest.mark.parametrize(
    "login",
    [
        {"login_email": "mole@alpha.test", "login_password": PASSWORD},
        {"login_email": "mole@alpha.test"},
        {"login_password": PASSWORD},
    ],
)
def test_only_an_owner_gives_a_driver_a_sign_in(alpha, who, login):
    """A dispatcher (or an API key: nobody signed in) who could set a driver's password
    could act as that driver; they are refused, on the field they filled in."""
    with in_schema(alpha):
        acting = {
            "dispatcher": User.objects.get(email=alpha.dispatcher_email),
            "driver": User.objects.get(email=alpha.driver_email),
            "nobody": None,
        }[who]
        users_before = User.objects.count()
        errors = errors_of(fleet.driver_create, name="Mole", acting_user=acting, **login)
        field = "login_email" if "login_email" in login else "login_password"
        assert errors == {field: [OWNER_ONLY]}
        assert User.objects.count() == users_before
        assert not Driver.objects.filter(name="Mole").exists()
        # without acting_user at all: the same (the safe default)
        assert errors_of(fleet.driver_create, name="Mole", **login) == {field: [OWNER_ONLY]}


def test_a_dispatcher_cannot_swap_a_drivers_sign_in_for_one_they_set(alpha):
    """`user: null` with a new email and password would take the driver's login over."""
    with in_schema(alpha):
        dispatcher = User.objects.get(email=alpha.dispatcher_email)
        driver = fleet.driver_create(name="Kept", user=User.objects.get(email=alpha.driver_email))
        errors = errors_of(
            fleet.driver_update,
            driver=driver,
            acting_user=dispatcher,
            data={"user": None, "login_email": "mole@alpha.test", "login_password": PASSWORD},
        )
        assert errors == {"login_email": [OWNER_ONLY]}
        driver.refresh_from_db()
        assert driver.user.email == alpha.driver_email
        assert not User.objects.filter(email="mole@alpha.test").exists()
        # empty sign-in fields are no sign-in: a dispatcher's edit goes through
        driver = fleet.driver_update(
            driver=driver,
            acting_user=dispatcher,
            data={"name": "Kept Too", "login_email": "", "login_password": ""},
        )
        assert driver.name == "Kept Too" and driver.user.email == alpha.driver_email


# --- the page -----------------------------------------------------------------------------


def test_an_owner_creates_the_driver_and_their_sign_in_on_the_driver_form(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/fleet/drivers/new/").content.decode()
    assert 'name="login_email"' in page and 'name="login_password"' in page
    response = owner.post(
        "/fleet/drivers/new/",
        {**DRIVER_FORM, "login_email": "sid@alpha.test", "login_password": PASSWORD},
        follow=True,
    )
    assert "Sid Driver saved; they sign in as sid@alpha.test." in response.content.decode()
    with in_schema(alpha):
        driver = Driver.objects.select_related("user").get(name="Sid Driver")
        assert (driver.user.email, driver.user.role) == ("sid@alpha.test", "driver")
    connection.set_schema_to_public()
    assert login_client(alpha.host, "sid@alpha.test").get("/driver/").status_code == 200

    edit = owner.get(f"/fleet/drivers/{driver.pk}/").content.decode()
    assert 'name="login_email"' not in edit  # a driver with a sign-in gets no second one


def test_driver_form_shows_a_duplicate_email_on_its_field_and_creates_nothing(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post(
        "/fleet/drivers/new/",
        {**DRIVER_FORM, "login_email": alpha.owner_email, "login_password": PASSWORD},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["login_email"] == ["A user with this email already exists."]
    assert 'value="' + PASSWORD not in response.content.decode()  # the password is not echoed
    with in_schema(alpha):
        assert not Driver.objects.filter(name="Sid Driver").exists()


def test_a_dispatcher_is_not_offered_a_new_sign_in_and_posting_one_is_refused(alpha):
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    page = dispatcher.get("/fleet/drivers/new/").content.decode()
    assert 'name="login_email"' not in page and 'name="login_password"' not in page
    assert 'name="user"' in page  # linking an existing driver login stays theirs

    response = dispatcher.post(  # the fields, sent by hand
        "/fleet/drivers/new/",
        {**DRIVER_FORM, "login_email": "mole@alpha.test", "login_password": PASSWORD},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"__all__": [OWNER_ONLY]}
    assert html.escape(OWNER_ONLY) in response.content.decode()
    with in_schema(alpha):
        assert nothing_made("mole@alpha.test", "Sid Driver")

    only_password = dispatcher.post("/fleet/drivers/new/", {**DRIVER_FORM, "login_password": "x"})
    assert only_password.context["form"].errors == {"__all__": [OWNER_ONLY]}

    with in_schema(alpha):
        driver = fleet.driver_create(name="Edited")
    swap = dispatcher.post(
        f"/fleet/drivers/{driver.pk}/",
        {
            **DRIVER_FORM,
            "name": "Edited",
            "login_email": "mole@alpha.test",
            "login_password": PASSWORD,
        },
    )
    assert swap.status_code == 200
    assert swap.context["form"].errors == {"__all__": [OWNER_ONLY]}
    with in_schema(alpha):
        assert Driver.objects.get(pk=driver.pk).user_id is None
        assert not User.objects.filter(email="mole@alpha.test").exists()

    saved = dispatcher.post("/fleet/drivers/new/", {**DRIVER_FORM, "name": "Plain"})
    assert saved.status_code == 302  # a driver without a new sign-in is still theirs to add


# --- the API ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "login",
    [
        {"login_email": "api.sid@alpha.test", "login_password": PASSWORD},
        {"login_email": "api.sid@alpha.test"},
        {"login_password": PASSWORD},
    ],
)
def test_driver_api_refuses_to_give_a_sign_in_with_an_api_key(alpha, login):
    """An API key belongs to the tenant, not to an owner: no sign-ins through it."""
    client = api_client(alpha.host, alpha.api_key)
    response = client.post("/api/v1/drivers", {"name": "Api Sid", **login})
    assert response.status_code == 400, response.json()
    field = "login_email" if "login_email" in login else "login_password"
    assert response.json()["errors"] == {field: [OWNER_ONLY]}
    assert "owner" in OWNER_ONLY and "Drivers page" in OWNER_ONLY
    with in_schema(alpha):
        assert nothing_made("api.sid@alpha.test", "Api Sid")

    with in_schema(alpha):
        driver = fleet.driver_create(
            name="Api Kept", user=User.objects.get(email=alpha.driver_email)
        )
    swap = client.patch(f"/api/v1/drivers/{driver.pk}", {"user": None, **login})
    assert swap.status_code == 400 and swap.json()["errors"] == {field: [OWNER_ONLY]}
    with in_schema(alpha):
        assert Driver.objects.get(pk=driver.pk).user.email == alpha.driver_email
        assert not User.objects.filter(email="api.sid@alpha.test").exists()


def test_driver_api_refuses_a_sign_in_from_a_dispatchers_session(alpha):
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    response = dispatcher.post(
        "/api/v1/drivers",
        {"name": "Api Sid", "login_email": "api.sid@alpha.test", "login_password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"login_email": [OWNER_ONLY]}
    with in_schema(alpha):
        assert nothing_made("api.sid@alpha.test", "Api Sid")


def test_driver_api_gives_a_sign_in_for_an_owner_signed_in(alpha):
    """The rule is who acts, not which door: an owner's own session may, as on the page."""
    owner = login_client(alpha.host, alpha.owner_email)
    body = {"name": "Api Sid", "login_email": "api.sid@alpha.test", "login_password": PASSWORD}
    response = owner.post("/api/v1/drivers", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert "login_password" not in response.json() and "login_email" not in response.json()
    with in_schema(alpha):
        user = User.objects.get(pk=response.json()["user"])
        assert (user.email, user.role) == ("api.sid@alpha.test", "driver")
