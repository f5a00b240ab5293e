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
