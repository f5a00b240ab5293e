"""Production settings pass Django's deployment checks, and every page carries a
Content-Security-Policy whose nonce is the one on the page's own scripts."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import login_client

ROOT = Path(__file__).resolve().parents[2]


def production_env(**changes: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "dispatch.example.com,.dispatch.example.com",
        "PUBLIC_BASE_URL": "https://dispatch.example.com",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests, never deployed
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_the_production_settings():
    result = check_deploy(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("unset", [None, "", "  "])
def test_production_settings_refuse_to_start_without_public_base_url(unset):
    """Unset, tracking links in customers' SMS would be http://<PUBLIC_HOST>:<PORT>: the
    port the process serves, internal behind most platforms' proxies."""
    result = check_deploy(production_env(PUBLIC_BASE_URL=unset))
    assert result.returncode != 0
    assert "ImproperlyConfigured: PUBLIC_BASE_URL must be set when DEBUG is off" in result.stderr


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_with_their_nonce(alpha):
    from django_tenants.utils import schema_context

    from dispatch.models import Depot

    with schema_context(alpha.tenant.schema_name):  # the depot map has an inline script
        Depot.objects.create(name="CSP depot", lat=51.5, lng=-0.1)
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.get("/fleet/depots/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "script-src 'self' 'nonce-" in policy and "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
    scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.content.decode())
    inline = [s for s in scripts if "application/json" not in s]
    assert inline and all(f'nonce="{nonce}"' in s for s in inline)
    assert owner.get("/fleet/depots/")["Content-Security-Policy"] != policy  # a nonce per page
    assert "onclick=" not in owner.get("/settings/api-keys/").content.decode()
