from django.db import connection

from tenants.models import ApiKey
from tests.conftest import login_client


def test_new_key_is_shown_once_and_a_reload_creates_no_second_key(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    connection.set_schema_to_public()
    before = ApiKey.objects.filter(tenant=alpha.tenant).count()

    response = owner.post("/settings/api-keys/", {"name": "Woo store", "scope": "read_write"})
    assert response.status_code == 302  # redirect after POST: a reload is a harmless GET

    first = owner.get("/settings/api-keys/").content.decode()
    assert 'id="new-api-key"' in first
    second = owner.get("/settings/api-keys/").content.decode()
    assert 'id="new-api-key"' not in second and "Woo store" in second
    connection.set_schema_to_public()
    assert ApiKey.objects.filter(tenant=alpha.tenant).count() == before + 1


def test_revoke_page_action_only_reaches_own_keys(alpha, beta):
    connection.set_schema_to_public()
    beta_key = ApiKey.objects.filter(tenant=beta.tenant).first()
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post(f"/settings/api-keys/{beta_key.pk}/revoke/", follow=True)
    assert b"No such API key." in response.content
    beta_key.refresh_from_db()
    assert beta_key.revoked_at is None


def test_settings_page_validates_time_zone_and_country(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post(
        "/settings/",
        {
            "name": "Alpha",
            "time_zone": "UTC",
            "country": "XX",
            "locale": "xx-yy",
            "location_retention_days": 30,
        },
    )
    assert response.status_code == 200
    assert b"is not an ISO 3166-1 alpha-2 country code" in response.content
    assert b"is not a supported locale" in response.content
    connection.set_schema_to_public()
    alpha.tenant.refresh_from_db()
    assert alpha.tenant.country == "GB"  # nothing of the bad submission was saved
    saved = owner.post(
        "/settings/",
        {
            "name": "Alpha Deliveries",
            "time_zone": "Europe/Dublin",
            "country": "ie",
            "locale": "EN",
            "location_retention_days": 14,
        },
    )
    assert saved.status_code == 302
    connection.set_schema_to_public()
    alpha.tenant.refresh_from_db()  # the test's transaction undoes this change afterwards
    assert (alpha.tenant.time_zone, alpha.tenant.country, alpha.tenant.locale) == (
        "Europe/Dublin",
        "IE",
        "en",
    )
    assert alpha.tenant.location_retention_days == 14
