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
    env = production_env(PUBLIC_BASE_URL=unset)
    result = check_deploy(env)
    assert result.returncode != 0
    assert "PUBLIC_BASE_URL must be set when DEBUG is off" in result.stderr
    served = serve(env)
    assert served.returncode != 0
    assert "ImproperlyConfigured: PUBLIC_BASE_URL must be set" in served.stderr


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


# --- production refuses what would make it unsafe (issue 22) ---------------------------------

#: The demo's data in a fresh process: no database answers there, so a command that gets
#: past its own checks fails on connecting instead.
NO_DATABASE = "postgres://nobody@127.0.0.1:1/nothing"


def serve(env: dict[str, str], entry: str = "import config.asgi") -> subprocess.CompletedProcess:
    """The web process's start (uvicorn imports config.asgi) with the settings of `env`."""
    return subprocess.run(
        [sys.executable, "-c", entry],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def start(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`manage.py <args>` (Django's checks by default) with the settings of `env`."""
    return subprocess.run(
        [sys.executable, "manage.py", *(args or ("check",))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "key",
    [
        None,
        "",
        "dev-only-insecure-key-do-not-use-in-production",  # the settings' development key
        "change-me-to-a-long-random-string-0123456789",  # compose.yaml's old default
        "collectstatic-only",  # the image build's old throwaway
        "django-insecure-" + "k" * 20 + secrets.token_urlsafe(30),  # startproject's
        secrets.token_urlsafe(30),  # 40 characters
        "ab" * 40,  # long, but two characters
    ],
    ids=["unset", "empty", "dev", "compose", "collectstatic", "django-insecure", "short", "plain"],
)
def test_production_refuses_to_start_with_a_known_or_weak_secret_key(key):
    # a key set and wrong stops every process; none at all stops those that serve or work
    result = start(production_env(SECRET_KEY=key)) if key else serve(production_env(SECRET_KEY=key))
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY" in result.stderr, result.stderr[-1000:]


def test_no_secret_key_written_in_the_repository_is_accepted():
    """Whatever literal a file here gives SECRET_KEY (an example, a default, a build's
    throwaway) is public: the settings refuse it with DEBUG off."""
    from config.settings import secret_key_problem

    pattern = re.compile(r"SECRET_KEY[\"']?\s*[:=]\s*[\"']?([^\s\"'$()]{4,})")
    found = {}
    for path in [ROOT / "compose.yaml", ROOT / "Dockerfile", ROOT / "Makefile", ROOT / "README.md"]:
        found.update({value: path.name for value in pattern.findall(path.read_text())})
    for folder in ("config", "docs", "bin", "bench", "deploy", ".ci"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {"", ".py", ".md", ".yaml", ".yml", ".conf"}:
                found.update({v: str(path) for v in pattern.findall(path.read_text())})
    literal = {v: where for v, where in found.items() if not v.startswith(("os.", "secrets."))}
    assert all(secret_key_problem(v) for v in literal), literal


def test_debug_is_off_unless_asked_for():
    env = production_env(DEBUG=None)
    probe = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-1000:]
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_production_refuses_to_start_with_debug_on():
    result = start(production_env(DEBUG="1", PRODUCTION="1"))
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG is on in production" in result.stderr


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"TRUST_PROXY_HEADERS": "1"}, "TRUST_PROXY_HEADERS is replaced by TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,the-proxy"}, "TRUSTED_PROXIES: 'the-proxy'"),
    ],
    ids=["old-proxy-switch", "bad-proxy"],
)
def test_production_refuses_to_start_with_a_proxy_setting_it_cannot_follow(changes, message):
    result = start(production_env(**changes))
    assert result.returncode != 0 and message in result.stderr, result.stderr[-1000:]


def test_the_demo_is_not_made_in_production_unless_asked():
    refused = start(production_env(DATABASE_URL=NO_DATABASE), "seed_demo")
    assert refused.returncode != 0
    assert "No demo data with DEBUG off" in refused.stderr, refused.stderr[-1000:]
    asked = start(production_env(DATABASE_URL=NO_DATABASE, DEMO_DATA="1"), "seed_demo")
    # past the refusal, as far as the demo's first database work, where no database answers
    assert asked.returncode != 0 and "No demo data" not in asked.stderr
    assert "in public_tenant_ensure" in asked.stderr, asked.stderr[-1000:]
    assert "django.db.utils.OperationalError" in asked.stderr, asked.stderr[-1000:]


def test_production_settings_with_a_strong_key_start():
    result = start(production_env(PRODUCTION="1", DATABASE_URL=NO_DATABASE))
    assert result.returncode == 0, result.stderr[-1000:]


def test_a_deploy_holding_the_demo_stops_unless_asked(tenants, settings, monkeypatch):
    """`bin/dispatch migrate` (each deploy's first step; compose starts nothing after it
    fails) refuses while the demo's published logins are here, unless DEMO_DATA asks."""
    from django.core.management import CommandError, call_command

    from tenants.management.commands import migrate_platform
    from tenants.selectors import DEMO_OWNER_EMAIL, DEMO_SLUG
    from tenants.services.provisioning import tenant_provision

    monkeypatch.setattr(migrate_platform, "call_command", lambda *a, **k: None)  # migrated
    settings.DEMO_DATA = False
    call_command("migrate_platform", verbosity=0)  # no demo here: fine
    tenant_provision(
        name="Demo Deliveries",
        slug=DEMO_SLUG,
        owner_email=DEMO_OWNER_EMAIL,
        owner_password="demo-dispatch-2026",
        country="FI",
        create_api_key=False,
    )
    with pytest.raises(CommandError, match="tenant_delete demo --yes"):
        call_command("migrate_platform", verbosity=0)
    settings.DEMO_DATA = True
    call_command("migrate_platform", verbosity=0)


def test_a_bare_checkout_reads_its_code_but_serves_and_works_only_once_configured():
    """Nothing set (no DEBUG, SECRET_KEY or PUBLIC_BASE_URL): a command that only reads the
    code runs, as a migration check or a build's collectstatic must; the web process, the
    worker, the scheduler and the deploy's migrate refuse, naming both missing settings."""
    env = production_env(SECRET_KEY=None, PUBLIC_BASE_URL=None, DATABASE_URL=NO_DATABASE)
    migrations = start(env, "makemigrations", "--check", "--dry-run")
    assert migrations.returncode == 0, migrations.stderr[-1000:]
    assert "No changes detected" in migrations.stdout
    commands = [start(env, name) for name in ("worker", "scheduler", "migrate_platform")]
    for process in [serve(env), serve(env, "import config.wsgi"), *commands]:
        assert process.returncode != 0
        assert "ImproperlyConfigured: SECRET_KEY must be set" in process.stderr, process.stderr[
            -800:
        ]
        assert "PUBLIC_BASE_URL must be set" in process.stderr
    deploy = check_deploy(env)
    assert deploy.returncode != 0 and "dispatch.E001" in deploy.stderr
