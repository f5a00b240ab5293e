"""Two tenants whose rows have the same ids: nothing of one is reachable from the other."""

from contextlib import contextmanager

from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from tests.conftest import PASSWORD, api_client, host_client, login_client


def test_the_two_tenants_really_share_row_ids(alpha, beta):
    assert alpha.user_ids[alpha.owner_email] == beta.user_ids[beta.owner_email]
    assert alpha.user_ids["shared@example.test"] == beta.user_ids["shared@example.test"]


def test_user_of_one_tenant_cannot_sign_in_on_another(alpha, beta):
    response = host_client(beta.host).post(
        "/login/", {"username": alpha.owner_email, "password": PASSWORD}
    )
    assert response.status_code == 200  # the form again, with an error
    assert b"Please enter a correct" in response.content


def test_same_email_in_two_tenants_only_opens_with_each_tenants_password(alpha, beta):
    email = "shared@example.test"
    wrong = host_client(beta.host).post(
        "/login/", {"username": email, "password": f"alpha-{PASSWORD}"}
    )
    assert wrong.status_code == 200
    assert login_client(beta.host, email, f"beta-{PASSWORD}")


def test_session_of_one_tenant_is_worthless_on_another(alpha, beta):
    client = login_client(alpha.host, alpha.owner_email)
    assert client.get("/", HTTP_HOST=alpha.host).status_code == 200
    # The same cookie sent to beta's host: beta's session table has no such session.
    response = client.get("/", HTTP_HOST=beta.host)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get("/api/v1/users", HTTP_HOST=beta.host).status_code == 401


@contextmanager
def schemas_touched():
    """Record the schema every SQL statement runs in, as django-tenants sets it."""
    seen: list[tuple[str, str]] = []

    def wrapper(execute, sql, params, many, context):
        seen.append((context["connection"].schema_name, sql))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


def test_every_query_of_a_request_touches_only_its_schema(alpha, beta):
    client = login_client(beta.host, beta.owner_email)
    with schemas_touched() as seen:
        response = client.get("/api/v1/users", HTTP_HOST=beta.host)
    assert response.status_code == 200
    emails = {row["email"] for row in response.json()["results"]}
    assert emails == {
        beta.owner_email,
        beta.dispatcher_email,
        beta.driver_email,
        "shared@example.test",
    }
    statements = [(schema, sql) for schema, sql in seen if not sql.startswith("SET search_path")]
    # The host is looked up in public first; from then on every statement runs in beta.
    assert statements[0][0] == "public" and "tenants_domain" in statements[0][1]
    assert {schema for schema, _ in statements[1:]} == {"beta"}
    assert len(statements) > 3


def test_api_key_request_touches_only_its_schema_and_the_key_index(alpha, beta):
    with schemas_touched() as seen:
        response = api_client(beta.host, beta.api_key).get("/api/v1/me")
    assert response.status_code == 200 and response.json()["tenant"] == "beta"
    assert {schema for schema, _ in seen} <= {"public", "beta"}
    assert not any("alpha" in sql for _, sql in seen)


def test_user_ids_of_another_tenant_resolve_in_the_requests_own_schema(alpha, beta):
    shared_id = alpha.user_ids["shared@example.test"]
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.get(f"/api/v1/users/{shared_id}")
    assert response.status_code == 200
    with schema_context("alpha"):
        assert User.objects.get(pk=shared_id).check_password(f"alpha-{PASSWORD}")
    owner.patch(f"/api/v1/users/{shared_id}", {"role": "driver"}, content_type="application/json")
    with schema_context("beta"):
        assert User.objects.get(pk=shared_id).role == "dispatcher"  # beta's row untouched
    with schema_context("alpha"):
        assert User.objects.get(pk=shared_id).role == "driver"
