"""A driver and their sign-in made in one go (issue 17): the driver form, the service and
the API create the driver's user (role driver) and link it, or create nothing at all."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from audit.models import AuditEvent
from dispatch.models import Driver
from dispatch.services import fleet
from tests.conftest import PASSWORD, api_client, host_client, login_client

DRIVER_FORM = {"name": "Sid Driver", "phone": "07700 900123", "shift_start": "08:00",
               "shift_end": "17:00", "break_minutes": 0}  # fmt: skip


def in_schema(fixture):
    return schema_context(fixture.tenant.schema_name)


def errors_of(call, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as exc:
        call(**kwargs)
    return exc.value.message_dict


def nothing_made(email: str, name: str) -> bool:
    return not User.objects.filter(email=email).exists() and not (
        Driver.objects.filter(name=name).exists()
    )


# --- the service ------------------------------------------------------------------------


def test_driver_is_created_with_a_sign_in_of_the_driver_role(alpha):
    with in_schema(alpha):
        driver = fleet.driver_create(
            name="Sid", login_email=" Sid@Alpha.TEST ", login_password=PASSWORD
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
        ({"login_email": "dispatcher@alpha.test", "login_password": PASSWORD},
         {"login_email": ["A user with this email already exists."]}),
        ({"login_email": "DRIVER@alpha.test", "login_password": PASSWORD},
         {"login_email": ["A user with this email already exists."]}),
        ({"login_email": "not-an-email", "login_password": PASSWORD},
         {"login_email": ["Enter a valid email address."]}),
        ({"login_email": "pat@alpha.test", "login_password": "k9#Lm2"},
         {"login_password": ["This password is too short. It must contain at least 10 "
                             "characters."]}),
        ({"login_email": "nopass@alpha.test", "login_password": ""},
         {"login_password": ["Set a password for the sign-in, or leave the email empty."]}),
        ({"login_email": "", "login_password": PASSWORD},
         {"login_email": ["Give the email the driver signs in with, or leave the password "
                          "empty."]}),
    ],
)  # fmt: skip
def test_a_bad_sign_in_is_a_field_error_and_nothing_is_created(alpha, login, errors):
    with in_schema(alpha):
        users_before = User.objects.count()
        assert errors_of(fleet.driver_create, name="Half", **login) == errors
        assert User.objects.count() == users_before
        assert not Driver.objects.filter(name="Half").exists()


def test_every_problem_is_reported_at_once(alpha):
    with in_schema(alpha):
        errors = errors_of(
            fleet.driver_create, name="Half", phone="12345",
            login_email=alpha.dispatcher_email, login_password=PASSWORD,
        )  # fmt: skip
        assert set(errors) == {"phone", "login_email"}


def test_a_refused_driver_leaves_no_sign_in_behind(alpha):
    """The user is made first (the driver needs its id) and undone with the driver."""
    import datetime as dt

    with in_schema(alpha):
        errors = errors_of(
            fleet.driver_create, name="Half", login_email="half@alpha.test",
            login_password=PASSWORD, shift_start=dt.time(18), shift_end=dt.time(9),
        )  # fmt: skip
        assert errors == {"shift_end": ["The shift must start before it ends."]}
        assert nothing_made("half@alpha.test", "Half")
        assert not AuditEvent.objects.filter(target="half@alpha.test").exists()


def test_an_existing_login_or_a_new_one_not_both(alpha):
    with in_schema(alpha):
        existing = User.objects.get(email=alpha.driver_email)
        errors = errors_of(
            fleet.driver_create, name="Both", user=existing,
            login_email="both@alpha.test", login_password=PASSWORD,
        )  # fmt: skip
        assert errors == {
            "login_email": ["Choose an existing sign-in or make a new one, not both."]
        }
        assert nothing_made("both@alpha.test", "Both")


def test_a_driver_without_a_sign_in_is_given_one_later(alpha):
    with in_schema(alpha):
        driver = fleet.driver_create(name="Later")
        driver = fleet.driver_update(
            driver=driver, data={"login_email": "later@alpha.test", "login_password": PASSWORD}
        )
        assert driver.user.email == "later@alpha.test"
        errors = errors_of(
            fleet.driver_update, driver=driver,
            data={"login_email": "again@alpha.test", "login_password": PASSWORD},
        )  # fmt: skip
        assert errors == {"login_email": ["Later already has a sign-in (later@alpha.test)."]}
        assert not User.objects.filter(email="again@alpha.test").exists()
        # empty sign-in fields (an edit form's) change nothing
        fleet.driver_update(driver=driver, data={"login_email": "", "login_password": ""})


def test_the_same_email_in_two_tenants_is_two_independent_sign_ins(alpha, beta):
    email = "same.driver@example.test"
    with in_schema(alpha):
        on_alpha = fleet.driver_create(name="Alpha Sam", login_email=email, login_password=PASSWORD)
    with in_schema(beta):
        on_beta = fleet.driver_create(
            name="Beta Sam", login_email=email, login_password=f"beta-{PASSWORD}"
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


# --- the page -----------------------------------------------------------------------------


def test_driver_form_creates_the_driver_and_their_sign_in(alpha):
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    page = dispatcher.get("/fleet/drivers/new/").content.decode()
    assert 'name="login_email"' in page and 'name="login_password"' in page
    response = dispatcher.post(
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

    edit = dispatcher.get(f"/fleet/drivers/{driver.pk}/").content.decode()
    assert 'name="login_email"' not in edit  # a driver with a sign-in gets no second one


def test_driver_form_shows_a_duplicate_email_on_its_field_and_creates_nothing(alpha):
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    response = dispatcher.post(
        "/fleet/drivers/new/",
        {**DRIVER_FORM, "login_email": alpha.owner_email, "login_password": PASSWORD},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["login_email"] == ["A user with this email already exists."]
    assert 'value="' + PASSWORD not in response.content.decode()  # the password is not echoed
    with in_schema(alpha):
        assert not Driver.objects.filter(name="Sid Driver").exists()


# --- the API ------------------------------------------------------------------------------


def test_driver_api_creates_a_driver_with_a_sign_in(alpha):
    client = api_client(alpha.host, alpha.api_key)
    body = {"name": "Api Sid", "login_email": "api.sid@alpha.test", "login_password": PASSWORD}
    response = client.post("/api/v1/drivers", body)
    assert response.status_code == 201, response.json()
    assert "login_password" not in response.json() and "login_email" not in response.json()
    with in_schema(alpha):
        user = User.objects.get(pk=response.json()["user"])
        assert (user.email, user.role) == ("api.sid@alpha.test", "driver")

    again = client.post("/api/v1/drivers", {**body, "name": "Api Sid 2"})
    assert again.status_code == 400
    assert again.json()["errors"] == {"login_email": ["A user with this email already exists."]}
    with in_schema(alpha):
        assert not Driver.objects.filter(name="Api Sid 2").exists()
