"""The deployment files agree with the code: the image, compose.yaml, bin/dispatch,
bin/healthcheck and docs/configuration.md's tables. (No Docker engine runs where the
tests run, so the image itself is not built here; its build steps that can run are.)"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
#: Read from the environment but not ours to document (or internal to one command).
NOT_CONFIGURATION = {"DJANGO_SETTINGS_MODULE", "TMPDIR", "DISPATCH_DATABASE_FREE"}


def _roles() -> set[str]:
    script = (ROOT / "bin" / "dispatch").read_text()
    return set(re.findall(r"^(\w+)\)$", script, flags=re.MULTILINE))


def test_bin_dispatch_knows_four_roles_and_refuses_others():
    assert _roles() == {"web", "worker", "scheduler", "migrate"}
    answer = subprocess.run([ROOT / "bin" / "dispatch", "cook"], capture_output=True, text=True)
    assert answer.returncode == 2 and "usage" in answer.stderr


def test_the_image_is_multi_stage_non_root_and_checks_its_health():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    assert sum(line.startswith("FROM ") for line in lines) >= 2
    assert any(line.startswith("COPY --from=build") for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert any(line.startswith("HEALTHCHECK") and "bin/healthcheck" in line for line in lines)
    assert 'ENTRYPOINT ["bin/dispatch"]' in lines and 'CMD ["web"]' in lines
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".data", ".git"} <= set(ignored)


def test_compose_runs_the_scaled_out_shape_from_one_image():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "scheduler", "proxy"} <= set(services)
    for name in ("web", "worker", "scheduler"):
        service = services[name]
        assert service["command"][0] in _roles()
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["web"]["deploy"]["replicas"] >= 2
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["worker"]["environment"]["Q_SCHEDULER"] == "0"  # the scheduler does it
    assert "bin/dispatch migrate" in " ".join(services["migrate"]["entrypoint"])
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for mounted in ("deploy/nginx.conf", "deploy/prometheus.yml"):
        assert (ROOT / mounted).exists()


def test_compose_needs_a_secret_key_and_makes_no_demo_or_console_messages_unless_asked():
    """(issue 22) No public default key (anyone could forge sessions and driver tokens),
    no demo tenant with its published logins on every deploy, no customers' numbers and
    tracking links in the log."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    env = compose["x-app"]["environment"]
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # compose stops without one
    assert env["DEMO_DATA"] == "${DEMO_DATA:-0}"
    assert "console" not in env["SMS_BACKEND"] and "console" not in env["EMAIL_BACKEND"]
    migrate = " ".join(compose["services"]["migrate"]["entrypoint"])
    assert re.search(r'if \[ "\$\$DEMO_DATA" = 1 \]; then python manage.py seed_demo', migrate)
    assert "DEBUG" not in env and "PRODUCTION=1" in (ROOT / "Dockerfile").read_text()


#: The settings of the real senders compose.yaml picks (Twilio, SMTP).
MESSAGING = re.compile(r"TWILIO_\w+|EMAIL_\w+|DEFAULT_FROM_EMAIL|SMS_BACKEND")


def _settings_of(env: dict[str, str]) -> dict[str, str]:
    """The messaging settings as a fresh production process reads them from `env`."""
    probe = (
        "import json, config.settings as s; "
        "print(json.dumps({k: repr(getattr(s, k)) for k in dir(s) if re.fullmatch(p, k)}))"
    )
    answer = subprocess.run(
        [sys.executable, "-c", f"import re; p = {MESSAGING.pattern!r}; {probe}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    return json.loads(answer.stdout.splitlines()[-1])


def test_compose_passes_every_messaging_setting_through_with_the_settings_defaults():
    """(issue 22 review) compose sends SMS through Twilio and email through SMTP: every
    variable the settings read for them reaches the web processes (Twilio's webhooks),
    the workers (sending) and the scheduler, and unset, compose's default for it is the
    settings' own (an empty EMAIL_PORT would stop the process, an empty EMAIL_HOST or
    TWILIO_API_URL send nowhere)."""
    settings_text = (ROOT / "config" / "settings.py").read_text()
    read = set(
        re.findall(r"(?:os\.environ\.get|env_bool|env_list)\(\s*\"([A-Z0-9_]+)\"", settings_text)
    )
    names = {name for name in read if MESSAGING.fullmatch(name)}
    assert {"TWILIO_AUTH_TOKEN", "TWILIO_CALLBACK_BASE", "EMAIL_HOST_PASSWORD"} <= names
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    for service in ("web", "worker", "scheduler"):
        env = services[service]["environment"]
        missing = sorted(n for n in names if not str(env.get(n, "")).startswith(f"${{{n}:-"))
        assert not missing, f"compose.yaml's {service} does not pass {missing}"
    passed = services["worker"]["environment"]
    defaults = {n: re.fullmatch(rf"\$\{{{n}:-(.*)\}}", passed[n]).group(1) for n in names}
    production = {
        **{k: v for k, v in os.environ.items() if k not in names},
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PUBLIC_BASE_URL": "https://dispatch.example.com",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing",
    }
    assert _settings_of({**production, **defaults}) == _settings_of(production)


def test_the_proxy_adds_its_peer_to_x_forwarded_for_rather_than_replacing_it():
    """(issue 22 review) Replaced by its own peer, a load balancer in front of it could
    never be seen through; appended to, the web process takes the rightmost address that
    is not a trusted proxy (core/http.py), so nothing a client writes there is believed."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;", conf)
    assert "X-Forwarded-For $remote_addr" not in conf


def test_the_image_build_key_is_made_at_build_time_not_written():
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    build = next(line for line in dockerfile.splitlines() if "manage.py collectstatic" in line)
    assert "SECRET_KEY=\"$(/opt/venv/bin/python -c 'import secrets;" in build


def test_make_runs_the_developers_processes_with_debug_on():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^DEBUG \?= 1$", makefile, flags=re.MULTILINE)
    assert re.search(r"^export DEBUG$", makefile, flags=re.MULTILINE)


def _configuration_read_by_the_code() -> set[str]:
    names: set[str] = set()
    pattern = re.compile(
        r"(?:os\.environ\.get|os\.environ\.setdefault|env_bool|env_list|os\.getenv)\(\s*\"([A-Z0-9_]+)\""
    )
    for folder in (
        "config",
        "core",
        "tenants",
        "accounts",
        "dispatch",
        "routing",
        "tracking",
        "notifications",
        "proofs",
        "webhooks",
        "reports",
        "audit",
    ):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(pattern.findall(path.read_text()))
    for script in ("dispatch", "healthcheck"):
        text = (ROOT / "bin" / script).read_text()
        names |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", text))
        names |= set(re.findall(r"os\.environ(?:\.get)?\(?\[?\"([A-Z][A-Z0-9_]+)\"", text))
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for service in compose["services"].values():
        names |= {k for k in service.get("environment", {}) if not k.startswith("POSTGRES_")}
    return names - NOT_CONFIGURATION


def test_every_environment_variable_is_documented():
    table = "\n".join(  # the configuration tables' rows, not a mention anywhere
        line
        for line in (ROOT / "docs" / "configuration.md").read_text().splitlines()
        if line.startswith("| `")
    )
    missing = sorted(n for n in _configuration_read_by_the_code() if f"`{n}`" not in table)
    assert not missing, f"not documented in docs/configuration.md: {missing}"


def test_the_image_build_sets_what_production_settings_require():
    """The build's collectstatic runs with DEBUG=0: every variable the production
    settings refuse to start without is given a throwaway value there."""
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    build = next(line for line in dockerfile.splitlines() if "manage.py collectstatic" in line)
    for assignment in ("DEBUG=0", "SECRET_KEY=", "PUBLIC_BASE_URL=", "DATABASE_URL="):
        assert f" {assignment}" in f" {build}", assignment


def test_production_settings_load_without_a_database_as_the_image_build_does(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://build@127.0.0.1:1/build",  # nothing listens there
        "SECRET_KEY": secrets.token_urlsafe(50),  # as the build makes one
        "DEBUG": "0",
        "PUBLIC_BASE_URL": "http://collectstatic.invalid",
    }
    answer = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--dry-run", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr[-2000:]


@pytest.mark.parametrize("role", ["worker", "scheduler"])
def test_the_health_check_asks_the_containers_process(role, tmp_path, metrics_port, tenants):
    from core import metrics

    port = metrics.serve_in_background(role)
    (tmp_path / "dispatch-role").write_text(f"{role}\n")

    def check(**env: str) -> int:
        full = {**os.environ, "TMPDIR": str(tmp_path), **env}
        return subprocess.run(
            [ROOT / "bin" / "healthcheck"], env=full, capture_output=True, timeout=30
        ).returncode

    assert check(METRICS_PORT=str(port)) == 0
    assert check(METRICS_PORT=str(free_port())) == 1  # nobody answers: unhealthy
    assert check(METRICS_PORT="") == 1
    (tmp_path / "dispatch-role").write_text("web\n")  # a web container asks the web process's port
    assert check(PORT=str(port), METRICS_PORT="1") == 0
