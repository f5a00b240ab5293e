"""Customers' tracking links point where the deployment serves (issue 17): with
PUBLIC_BASE_URL unset, at PUBLIC_HOST on the port `make run` serves ($PORT, which it
exports to the web process and the worker alike); PUBLIC_BASE_URL, when set, wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The settings as a fresh process reads them, and a link `tracking_url` builds with them
# (the token stubbed: no database needed to see where the link points).
PROBE = """
import json, types, django
django.setup()
from django.conf import settings
import notifications.services.sending
from notifications.services.sending import tracking_url
notifications.services.sending.tracking_link_for = lambda order: "TOKEN"
print(json.dumps([settings.PUBLIC_BASE_URL, tracking_url(types.SimpleNamespace(pk=1))]))
"""


def _links(**env: str) -> tuple[str, str]:
    unset = {"PORT", "PUBLIC_HOST", "PUBLIC_BASE_URL"}  # whatever this run was given
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )
    assert result.returncode == 0, result.stderr
    base, link = json.loads(result.stdout.strip().splitlines()[-1])
    return base, link


@pytest.mark.parametrize(
    ("env", "base"),
    [
        ({"PORT": "8100"}, "http://localhost:8100"),
        ({"PORT": "8100", "PUBLIC_HOST": "dispatch.test"}, "http://dispatch.test:8100"),
        ({}, "http://localhost:8000"),  # bin/dispatch web's own default
        ({"PORT": "80"}, "http://localhost"),
    ],
    ids=["port", "host-and-port", "no-port", "port-80"],
)
def test_tracking_links_follow_the_served_host_and_port(env, base):
    assert _links(**env) == (base, f"{base}/t/TOKEN")


def test_a_public_base_url_that_is_set_wins_over_the_port():
    base, link = _links(PORT="8100", PUBLIC_BASE_URL="https://track.example.com/")
    assert (base, link) == ("https://track.example.com", "https://track.example.com/t/TOKEN")


def test_the_demo_prints_its_links_on_the_served_port(tenants, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.PUBLIC_BASE_URL = "http://localhost:8100"  # as `make run PORT=8100` sets it
    out = StringIO()
    call_command("seed_demo", "--port", "8100", stdout=out)
    assert "http://demo.localhost:8100/" in out.getvalue()
    assert "Tracking links in messages: http://localhost:8100/t/<token>" in out.getvalue()
    assert ":8000" not in out.getvalue()
