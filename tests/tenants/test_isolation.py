"""Two tenants whose rows have the same ids: nothing of one is reachable from the other.

The schema a statement runs in is read from PostgreSQL itself (`current_schemas(false)` on
the connection that runs it), not from django-tenants' idea of it; tests/e2e/
test_search_path_pool.py does the same on a running server with the connection pool on,
for requests, jobs and websocket consumers."""

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
    """Record, for every SQL statement, the schemas PostgreSQL really searches on the
    connection that runs it (first the one it runs in), asked on that connection just
    before the statement: (schemas, sql)."""
    seen: list[tuple[list[str], str]] = []

    def wrapper(execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith("SET SEARCH_PATH"):
            raw = context["cursor"].cursor
            raw.execute("SELECT current_schemas(false)")
            seen.append((list(raw.fetchone()[0]), sql))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


def _tenant_statements_elsewhere(seen: list[tuple[list[str], str]], schema: str) -> list[str]:
    """Statements after the host look-up that did not run in `schema` (public behind it)."""
    return [sql for schemas, sql in seen[1:] if schemas[:1] != [schema] or len(schemas) > 2]


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
    # The host is looked up in public first; from then on every statement runs in beta.
    assert seen[0][0] == ["public"] and "tenants_domain" in seen[0][1]
    assert _tenant_statements_elsewhere(seen, "beta") == []
    assert {schemas[0] for schemas, _ in seen[1:]} == {"beta"}
    assert len(seen) > 3


def test_the_check_catches_a_connection_left_in_another_schema(alpha, beta, monkeypatch):
    """Were the search_path not set, the statements would run in public: the check says so."""
    client = login_client(beta.host, beta.owner_email)
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # the search_path is public's now
    monkeypatch.setattr(connection, "_handle_search_path", lambda cursor=None: None)
    with schemas_touched() as seen:
        client.get("/api/v1/users", HTTP_HOST=beta.host)
    assert _tenant_statements_elsewhere(seen, "beta") != []


def test_api_key_request_touches_only_its_schema_and_the_key_index(alpha, beta):
    with schemas_touched() as seen:
        response = api_client(beta.host, beta.api_key).get("/api/v1/me")
    assert response.status_code == 200 and response.json()["tenant"] == "beta"
    assert {schema for schemas, _ in seen for schema in schemas} <= {"public", "beta"}
    assert any(schemas[0] == "beta" for schemas, _ in seen)
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
