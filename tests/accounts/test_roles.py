import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from accounts import services
from accounts.models import User
from tests.conftest import PASSWORD, host_client, login_client


def test_dashboard_needs_a_login(alpha):
    response = host_client(alpha.host).get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("owner", "/", 200),
        ("owner", "/team/", 200),
        ("owner", "/settings/", 200),
        ("owner", "/settings/api-keys/", 200),
        ("dispatcher", "/", 200),
        ("dispatcher", "/team/", 403),
        ("dispatcher", "/settings/api-keys/", 403),
        ("driver", "/", 403),
        ("driver", "/team/", 403),
    ],
)
def test_dashboard_pages_by_role(alpha, role, path, status):
    client = login_client(alpha.host, getattr(alpha, f"{role}_email"))
    assert client.get(path).status_code == status


def test_navigation_lists_only_what_the_role_may_open(alpha):
    owner_page = login_client(alpha.host, alpha.owner_email).get("/").content.decode()
    dispatcher_page = login_client(alpha.host, alpha.dispatcher_email).get("/").content.decode()
    assert 'href="/team/"' in owner_page and 'href="/settings/api-keys/"' in owner_page
    assert 'href="/team/"' not in dispatcher_page
    assert 'href="/settings/api-keys/"' not in dispatcher_page
    # customers' texts are the dispatchers' to answer: the inbox is in the main bar
    assert 'href="/conversations/"' in dispatcher_page


def test_driver_is_told_to_use_the_driver_app(alpha):
    page = login_client(alpha.host, alpha.driver_email).get("/")
    assert b"Drivers use the driver app" in page.content


def test_owner_adds_a_driver_from_the_team_page(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post(
        "/team/",
        {"email": "new.driver@alpha.test", "name": "Nia", "role": "driver", "password": PASSWORD},
    )
    assert response.status_code == 302
    with schema_context("alpha"):
        assert User.objects.get(email="new.driver@alpha.test").role == "driver"
    with schema_context("beta"):
        assert not User.objects.filter(email="new.driver@alpha.test").exists()


def test_team_page_shows_field_errors_and_keeps_the_input(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post(
        "/team/", {"email": alpha.dispatcher_email, "role": "driver", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert b"A user with this email already exists." in response.content


def test_the_last_owner_cannot_be_demoted_or_deactivated(alpha):
    with schema_context("alpha"):
        owner = User.objects.get(email=alpha.owner_email)
        dispatcher = User.objects.get(email=alpha.dispatcher_email)
        services.user_change_role(user=dispatcher, role="owner", acting_user=owner)
        with pytest.raises(ValidationError):
            services.user_change_role(user=owner, role="driver", acting_user=owner)
        with pytest.raises(ValidationError):
            services.user_set_active(user=owner, is_active=False, acting_user=owner)
        # With two owners, one may demote the other, but never the last one.
        services.user_change_role(user=owner, role="dispatcher", acting_user=dispatcher)
        with pytest.raises(ValidationError):
            services.user_change_role(user=dispatcher, role="driver", acting_user=owner)


def test_deactivated_user_cannot_sign_in(alpha):
    with schema_context("alpha"):
        owner = User.objects.get(email=alpha.owner_email)
        driver = User.objects.get(email=alpha.driver_email)
        services.user_set_active(user=driver, is_active=False, acting_user=owner)
    response = host_client(alpha.host).post(
        "/login/", {"username": alpha.driver_email, "password": PASSWORD}
    )
    assert response.status_code == 200


def test_users_api_validates_and_creates(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    bad = owner.post(
        "/api/v1/users",
        {"email": "nope", "role": "pilot", "password": "1"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) >= {"email", "role"}
    good = owner.post(
        "/api/v1/users",
        {"email": "Api.Made@alpha.test", "role": "dispatcher", "password": PASSWORD},
        content_type="application/json",
    )
    assert good.status_code == 201
    assert good.json()["email"] == "api.made@alpha.test"
    assert "password" not in good.json()
    again = owner.post(
        "/api/v1/users",
        {"email": "api.made@alpha.test", "role": "dispatcher", "password": PASSWORD},
        content_type="application/json",
    )
    assert again.status_code == 400


def test_a_refused_change_leaves_the_user_as_it_was(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    owner_id = alpha.user_ids[alpha.owner_email]
    # Role would change, but deactivating oneself is refused: neither may stick.
    response = owner.patch(
        f"/api/v1/users/{owner_id}",
        {"role": "owner", "is_active": False},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "is_active" in response.json()["errors"]
    driver_id = alpha.user_ids[alpha.driver_email]
    response = owner.patch(
        f"/api/v1/users/{driver_id}",
        {"role": "dispatcher", "is_active": False},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert (response.json()["role"], response.json()["is_active"]) == ("dispatcher", False)


def test_user_list_is_paginated_with_a_cursor(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    first = owner.get("/api/v1/users?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = owner.get(first["next"]).json()
    emails = {row["email"] for row in first["results"] + second["results"]}
    assert len(emails) == 4 and second["next"] is None


def test_logout_ends_the_session(alpha):
    client = login_client(alpha.host, alpha.owner_email)
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302
