"""The audit log: sign-ins (and failed ones), team and API key changes, exports and
deletions are recorded with who, from where and on what, in the tenant's own log, which
only its owner reads."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from audit.models import AuditEvent
from tests.conftest import PASSWORD, api_client, host_client, login_client

pytestmark = pytest.mark.django_db


def _log(schema: str) -> list[tuple[str, str, str]]:
    with schema_context(schema):
        return list(
            AuditEvent.objects.order_by("at", "id").values_list("action", "actor", "target")
        )


def test_sign_ins_team_and_key_changes_and_exports_are_recorded(alpha, beta):
    with schema_context("alpha"):
        AuditEvent.objects.all().delete()
    anonymous = host_client(alpha.host)
    anonymous.post(
        "/login/", {"username": alpha.owner_email, "password": "wrong"}, REMOTE_ADDR="203.0.113.9"
    )
    owner = login_client(alpha.host, alpha.owner_email)
    owner.post("/settings/api-keys/", {"name": "Store", "scope": "read"})
    with schema_context("alpha"):
        from tenants.models import ApiKey

        key = ApiKey.objects.get(tenant=alpha.tenant, name="Store")
    owner.post(f"/settings/api-keys/{key.pk}/revoke/")
    dispatcher_id = alpha.user_ids[alpha.dispatcher_email]
    owner.post(f"/team/{dispatcher_id}/role/", {"role": "owner"})
    owner.post(f"/team/{dispatcher_id}/active/", {"is_active": "0"})
    owner.post(f"/team/{dispatcher_id}/active/", {"is_active": "1"})
    api_client(alpha.host, alpha.api_key).get("/api/v1/orders/export.csv?status=delivered")
    owner.get("/settings/export")
    owner.post("/logout/")
    log = _log("alpha")
    with schema_context("alpha"):
        failed = AuditEvent.objects.get(action="login.failed")
    actions = [a for a, _, _ in log]
    assert actions == [
        "login.failed",
        "login.succeeded",
        "api_key.created",
        "api_key.revoked",
        "user.role_changed",
        "user.deactivated",
        "user.reactivated",
        "orders.exported",
        "data.exported",
        "logout",
    ]
    assert (failed.actor, failed.target, failed.ip) == (
        "anonymous",
        alpha.owner_email,
        "203.0.113.9",
    )
    me = f"user:{alpha.owner_email}"
    assert all(
        actor == me for action, actor, _ in log if action not in ("login.failed", "orders.exported")
    )
    exported = next(e for e in log if e[0] == "orders.exported")
    assert exported[1].startswith("api_key:") and exported[2] == "0 orders"
    assert ("api_key.created", me, f"Store ({key.prefix})") in log
    assert ("user.role_changed", me, alpha.dispatcher_email) in log
    assert not [
        e
        for e in _log("beta")
        if e[2] in (alpha.owner_email, alpha.dispatcher_email) and e[0] != "user.created"
    ]
    with schema_context("alpha"):  # put the dispatcher back for the other tests
        from accounts.models import User

        User.objects.filter(pk=dispatcher_id).update(role="dispatcher")


def test_only_the_owner_reads_the_log_of_their_own_tenant(alpha, beta):
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/settings/audit/?action=login.succeeded")
    assert page.status_code == 200 and alpha.owner_email.encode() in page.content
    assert (
        login_client(alpha.host, alpha.dispatcher_email).get("/settings/audit/").status_code == 403
    )
    theirs = login_client(beta.host, beta.owner_email).get("/settings/audit/")
    assert alpha.owner_email.encode() not in theirs.content
    assert b"Signed in" in theirs.content  # beta's own sign-in


def test_a_tenant_deletion_is_recorded_in_the_platform_log(alpha):
    from tenants.models import Tenant
    from tenants.services.lifecycle import tenant_delete
    from tenants.services.provisioning import tenant_provision

    tenant_provision(
        name="Audited Co",
        slug="audited",
        owner_email="o@audited.test",
        owner_password=PASSWORD,
        country="GB",
    )
    tenant_delete(Tenant.objects.get(slug="audited"))
    (event,) = AuditEvent.objects.filter(action="tenant.deleted")  # the public schema's log
    assert event.target == "Audited Co (audited)" and event.detail["schema"] == 1
