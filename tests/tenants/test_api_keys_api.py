from django.db import connection

from tenants.models import ApiKey
from tests.conftest import api_client, login_client


def test_api_key_of_other_tenant_is_refused(alpha, beta):
    response = api_client(beta.host, alpha.api_key).get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_api_key_works_on_its_own_tenant(alpha):
    response = api_client(alpha.host, alpha.api_key).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json() == {
        "tenant": "alpha",
        "tenant_name": "Alpha Deliveries",
        "principal": "api_key",
        "email": None,
        "role": None,
        "scope": "read_write",
    }


def test_missing_or_malformed_credentials_are_401(alpha):
    assert api_client(alpha.host).get("/api/v1/me").status_code == 401
    for header in ["Bearer", "Bearer a b", "Bearer dsp_short", "Bearer " + "x" * 80]:
        client = api_client(alpha.host)
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get("/api/v1/me").status_code == 401, header


def test_read_only_key_cannot_write(alpha):
    response = api_client(alpha.host, alpha.read_key).post(
        "/api/v1/users", {"email": "x@alpha.test", "role": "driver", "password": "x"}
    )
    assert response.status_code == 403


def test_api_keys_cannot_manage_users_or_keys(alpha):
    client = api_client(alpha.host, alpha.api_key)
    assert client.get("/api/v1/users").status_code == 403
    assert client.get("/api/v1/api-keys").status_code == 403
    assert client.post("/api/v1/api-keys", {"name": "escalate"}).status_code == 403


def test_owner_creates_a_key_shown_once_then_revokes_it(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    created = owner.post("/api/v1/api-keys", {"name": "Shopify", "scope": "read"})
    assert created.status_code == 201
    secret = created.json()["key"]
    key_id = created.json()["id"]

    listing = owner.get("/api/v1/api-keys").json()
    assert secret not in str(listing)
    assert any(row["id"] == key_id for row in listing["results"])
    assert api_client(alpha.host, secret).get("/api/v1/me").json()["scope"] == "read"

    revoked = owner.delete(f"/api/v1/api-keys/{key_id}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert api_client(alpha.host, secret).get("/api/v1/me").status_code == 401


def test_owner_cannot_see_or_revoke_another_tenants_key(alpha, beta):
    connection.set_schema_to_public()
    beta_key = ApiKey.objects.filter(tenant=beta.tenant).first()
    owner = login_client(alpha.host, alpha.owner_email)
    assert owner.get(f"/api/v1/api-keys/{beta_key.pk}").status_code == 404
    assert owner.delete(f"/api/v1/api-keys/{beta_key.pk}").status_code == 404
    assert all(row["id"] != beta_key.pk for row in owner.get("/api/v1/api-keys").json()["results"])
    beta_key.refresh_from_db()
    assert beta_key.revoked_at is None


def test_dispatcher_and_driver_cannot_manage_keys(alpha):
    for email in (alpha.dispatcher_email, alpha.driver_email):
        client = login_client(alpha.host, email)
        assert client.get("/api/v1/api-keys").status_code == 403


def test_key_creation_with_bad_input_is_a_400(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post("/api/v1/api-keys", {"name": "", "scope": "admin"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name", "scope"}


def test_api_errors_are_json(alpha):
    client = api_client(alpha.host, alpha.api_key)
    missing = client.get("/api/v1/no-such-endpoint")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    unknown_host = api_client("nobody.localhost").get("/api/v1/me")
    assert unknown_host.status_code == 404
    assert unknown_host.json()["code"] == "unknown_host"


def test_openapi_schema_and_docs_are_served(alpha):
    schema = api_client(alpha.host).get("/api/schema/?format=json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/me" in document["paths"]
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert api_client(alpha.host).get("/api/docs/").status_code == 200
    public = api_client("localhost").get("/api/schema/?format=json").json()
    assert "/api/v1/signup" in public["paths"]


def test_requests_per_key_are_throttled(alpha, settings):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "api_key": "3/min"}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        from django.core.cache import cache

        cache.clear()
        client = api_client(alpha.host, alpha.api_key)
        codes = [client.get("/api/v1/me").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        # Another key of the same tenant has its own budget.
        assert api_client(alpha.host, alpha.read_key).get("/api/v1/me").status_code == 200
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
        cache.clear()


def test_suspended_tenant_is_refused(alpha):
    from tenants.services.provisioning import tenant_set_status

    tenant_set_status(tenant=alpha.tenant, status="suspended")
    try:
        response = api_client(alpha.host, alpha.api_key).get("/api/v1/me")
        assert response.status_code == 403
        assert response.json()["code"] == "tenant_suspended"
        assert api_client(alpha.host).get("/login/").status_code == 403
    finally:
        connection.set_schema_to_public()
        tenant_set_status(tenant=alpha.tenant, status="active")
