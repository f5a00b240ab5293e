"""Sign-in lockouts: wrong passwords for one account from one address lock that pair out
for a while (the right password too), on that tenant only; other addresses and tenants
carry on; a success resets the count."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django_tenants.utils import schema_context

from audit.models import AuditEvent
from tests.conftest import PASSWORD, host_client

pytestmark = pytest.mark.django_db


def _try(host: str, email: str, password: str, ip: str):
    return host_client(host).post(
        "/login/", {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def test_five_wrong_passwords_lock_the_account_from_that_address_on_that_tenant(
    alpha, beta, settings
):
    email, ip = "shared@example.test", "198.51.100.7"  # the same address exists in both tenants
    answers = [_try(alpha.host, email, "wrong", ip).status_code for _ in range(5)]
    assert answers == [200] * 4 + [429]  # the form again with its error; the fifth locks
    locked = _try(alpha.host, email, f"alpha-{PASSWORD}", ip)
    assert locked.status_code == 429 and b"Too many attempts" in locked.content
    assert _try(alpha.host, email, f"alpha-{PASSWORD}", "198.51.100.8").status_code == 302
    assert _try(beta.host, email, f"beta-{PASSWORD}", ip).status_code == 302  # not beta's lock
    with schema_context("alpha"):
        # five wrong passwords and the right one refused while locked
        assert AuditEvent.objects.filter(action="login.failed", ip=ip).count() == 6
        AccessAttempt.objects.all().delete()  # unlock for the other tests


def test_a_success_resets_the_count(alpha):
    ip = "198.51.100.9"
    for _ in range(4):
        _try(alpha.host, alpha.dispatcher_email, "wrong", ip)
    assert _try(alpha.host, alpha.dispatcher_email, PASSWORD, ip).status_code == 302
    for _ in range(4):
        _try(alpha.host, alpha.dispatcher_email, "wrong", ip)
    assert _try(alpha.host, alpha.dispatcher_email, PASSWORD, ip).status_code == 302
