from django.db import connection
from django.db.utils import OperationalError

from config import health
from tests.conftest import host_client


def test_healthz_answers_on_any_host(tenants):
    for host in ("localhost", "alpha.localhost", "10.0.0.7", "unknown.example"):
        response = host_client(host).get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_migrations(tenants, monkeypatch):
    monkeypatch.setattr(health, "_migrations_ok", False)
    response = host_client("127.0.0.1").get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["migrations"] == "ok"


def test_readyz_is_503_while_migrations_are_pending(tenants, monkeypatch):
    monkeypatch.setattr(health, "_migrations_ok", False)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tenant_template.django_migrations WHERE app = 'accounts'")
    response = host_client("127.0.0.1").get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "pending"


def test_readyz_is_503_when_the_database_is_unreachable(tenants, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:  # undone before the test's rollback needs a cursor
        patch.setattr(health.connection, "cursor", refuse)
        response = host_client("127.0.0.1").get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable")


def test_operators_admin_is_on_the_public_host_only(alpha):
    assert host_client("localhost").get("/admin/login/").status_code == 200
    assert host_client(alpha.host).get("/admin/").status_code == 404


def test_operator_suspends_a_tenant_from_the_admin(alpha):
    from accounts.models import User
    from tenants.models import Tenant

    User.objects.create_superuser("ops@platform.test", "ops-password-123")  # public schema
    client = host_client("localhost")
    client.force_login(User.objects.get(email="ops@platform.test"))
    response = client.post(
        "/admin/tenants/tenant/",
        {"action": "suspend", "_selected_action": [alpha.tenant.pk]},
    )
    assert response.status_code == 302
    assert Tenant.objects.get(pk=alpha.tenant.pk).status == "suspended"
    assert host_client(alpha.host).get("/login/").status_code == 403
