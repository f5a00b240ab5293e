import pytest
from django.db import connection
from django_tenants.utils import schema_exists

from tenants.models import Tenant
from tests.conftest import PASSWORD, api_client, host_client

BODY = {
    "name": "Green Grocer",
    "slug": "green-grocer",
    "owner_email": "me@green.test",
    "owner_password": PASSWORD,
    "country": "DE",
    "time_zone": "Europe/Berlin",
}


def signup(body):
    return api_client("localhost").post("/api/v1/signup", body, format="json")


def test_signup_returns_host_login_and_a_working_api_key(tenants):
    response = signup(BODY)

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["url"] == "http://green-grocer.localhost/"
    assert data["login_url"] == "http://green-grocer.localhost/login/"
    assert data["owner_email"] == "me@green.test"
    me = api_client("green-grocer.localhost", data["api_key"]).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["tenant"] == "green-grocer"
    assert me.json()["scope"] == "read_write"


def test_the_new_hosts_address_has_the_port_the_client_asked_for_not_the_servers(tenants):
    """Behind a proxy (nginx on :8080 in compose) the server listens on another port
    (uvicorn on :8000): the links follow the Host the client used."""
    client = api_client("localhost:8080")
    response = client.post("/api/v1/signup", BODY, format="json", SERVER_PORT="8000")

    assert response.status_code == 201, response.json()
    assert response.json()["login_url"] == "http://green-grocer.localhost:8080/login/"
    assert (
        signup({**BODY, "slug": "blue-grocer", "owner_email": "me@blue.test"}).json()["url"]
        == "http://blue-grocer.localhost/"
    )  # no port asked for: none given


def test_the_new_owner_can_sign_in_on_the_new_host(tenants):
    assert signup(BODY).status_code == 201
    client = host_client("green-grocer.localhost")
    response = client.post("/login/", {"username": "me@green.test", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"slug": "alpha"}, "slug", "This name is already taken."),
        ({"slug": "www"}, "slug", "This name is reserved."),
        ({"slug": "public"}, "slug", "This name is reserved."),
        ({"slug": "api"}, "slug", "This name is reserved."),
        ({"owner_email": "not-an-email"}, "owner_email", "Enter a valid email address."),
        ({"owner_password": "password1"}, "owner_password", "This password is too common."),
        ({"owner_password": "short"}, "owner_password", None),
        (
            {"owner_password": "736492018365"},
            "owner_password",
            "This password is entirely numeric.",
        ),
        ({"country": "XX"}, "country", None),
        ({"time_zone": "Nowhere/City"}, "time_zone", None),
        ({"name": ""}, "name", None),
    ],
)
def test_bad_input_is_a_400_with_field_errors_and_creates_nothing(tenants, change, field, message):
    before = Tenant.objects.count()

    response = signup({**BODY, **change})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"], body
    if message:
        assert message in body["errors"][field]
    connection.set_schema_to_public()
    assert Tenant.objects.count() == before
    assert not schema_exists("green_grocer")


def test_every_problem_of_a_sign_up_is_reported_at_once(tenants):
    response = signup(
        {**BODY, "slug": "www", "owner_email": "nope", "country": "XX", "time_zone": "Mars/Base"}
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"slug", "owner_email", "country", "time_zone"}


def test_missing_fields_are_named(tenants):
    response = signup({})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {
        "name",
        "slug",
        "owner_email",
        "owner_password",
        "country",
    }


def test_sign_ups_are_rate_limited_per_client(tenants):
    from django.core.cache import cache
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "signup": "2/hour"}
    cache.clear()
    try:
        codes = [signup({**BODY, "slug": "www"}).status_code for _ in range(3)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert codes == [400, 400, 429]


def test_malformed_json_is_a_400(tenants):
    response = api_client("localhost").post(
        "/api/v1/signup", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_signup_is_not_served_on_a_tenant_host(alpha):
    response = api_client(alpha.host).post("/api/v1/signup", BODY, format="json")
    assert response.status_code == 404
    connection.set_schema_to_public()
    assert not Tenant.objects.filter(slug="green-grocer").exists()


def test_signup_page_creates_an_account(tenants):
    response = host_client("localhost").post(
        "/", {**BODY, "slug": "page-signup", "owner_name": "Pat"}
    )
    assert response.status_code == 200
    assert b"http://page-signup.localhost/login/" in response.content
    connection.set_schema_to_public()
    assert Tenant.objects.filter(slug="page-signup").exists()


def test_signup_page_shows_field_errors(tenants):
    response = host_client("localhost").post("/", {**BODY, "slug": "www"})
    assert response.status_code == 200
    assert b"This name is reserved." in response.content
