"""The API fuzzed with schemathesis against its own OpenAPI schema, over HTTP against the
running server, with a write key of a tenant of its own: no answer is a server error, and
every answer (status, content type, body) is one the schema documents. Keys are refused
on the owner's operations (keys, users, the Shopify connection) and drivers are given a
sign-in only by an owner, so those are fuzzed again as the owner, signed in (session
cookie and CSRF token); the public host's sign-up is fuzzed too, the API and the page.

Every operation gets a few generated requests (hypothesis, derandomized so that a failure
comes back on the next run); the failures of all operations are reported together."""

from __future__ import annotations

import re

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import PASSWORD
from tests.e2e.conftest import live_tenant

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Not fuzzed here: the phone's endpoint needs a signed driver token (tests/tracking), the
#: store's webhook an HMAC over its body (tests/dispatch/test_shopify.py).
SKIPPED = ("/api/v1/driver/pings", "/api/v1/integrations/shopify/webhooks")
EXAMPLES = 12
#: What keys are refused on, or where an owner's session does more than a key: fuzzed
#: again as the owner.
OWNER_PATHS = (
    "/api/v1/api-keys",
    "/api/v1/users",
    "/api/v1/integrations/shopify",
    "/api/v1/drivers",
)


def _fuzz(operation, base: str, headers: dict) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case):
        case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)

    fuzz()


def _fuzz_schema(base: str, headers: dict, keep=lambda path: True) -> tuple[list[str], int]:
    """Fuzz every operation of the schema `base` serves to `headers` whose path `keep`
    takes: (the failures, one text per operation; how many operations)."""
    raw = requests.get(f"{base}/api/schema/?format=json", headers=headers, timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED or not keep(operation.path):
            continue
        operations += 1

        try:
            _fuzz(operation, base, headers)
        except BaseException as exc:  # a FailureGroup: each operation's, all reported
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:1500])
    return failures, operations


def test_the_api_answers_as_its_schema_says(live_server_url, django_db_blocker):
    from tenants.services.provisioning import api_key_create

    tenant = live_tenant(django_db_blocker, live_server_url, "fuzz")
    with django_db_blocker.unblock():
        _, key = api_key_create(tenant=tenant.provisioned.tenant, name="fuzzer")
    base = f"http://127.0.0.1:{tenant.port}"
    headers = {"Host": tenant.host, "Authorization": f"Bearer {key}"}
    failures, operations = _fuzz_schema(base, headers)
    assert operations > 50, "the schema lost its operations"
    assert not failures, "\n\n".join(failures)


def _signed_in(base: str, host: str, email: str) -> dict:
    """Headers of a signed-in session: its cookies and the CSRF token DRF asks of it."""
    browser = requests.Session()
    browser.get(f"{base}/login/", headers={"Host": host}, timeout=30)
    answer = browser.post(
        f"{base}/login/",
        data={
            "username": email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        headers={"Host": host},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text[:300]
    cookies = browser.cookies.get_dict()  # the token is a new one after signing in
    return {
        "Host": host,
        "Cookie": f"sessionid={cookies['sessionid']}; csrftoken={cookies['csrftoken']}",
        "X-CSRFToken": cookies["csrftoken"],
    }


def test_the_owners_operations_answer_as_the_schema_says(live_server_url, django_db_blocker):
    tenant = live_tenant(django_db_blocker, live_server_url, "fuzz-owner")
    base = f"http://127.0.0.1:{tenant.port}"
    headers = _signed_in(base, tenant.host, tenant.owner_email)
    made = requests.post(  # the session writes (cookie and CSRF token accepted)
        f"{base}/api/v1/api-keys", json={"name": "probe"}, headers=headers, timeout=30
    )
    assert made.status_code == 201, made.text[:300]

    failures, operations = _fuzz_schema(base, headers, keep=lambda p: p.startswith(OWNER_PATHS))
    assert operations >= 10, "the owner's operations are not all fuzzed"
    assert not failures, "\n\n".join(failures)
    # still signed in: no answer above came from a session the fuzzing had lost
    assert requests.get(f"{base}/api/v1/api-keys", headers=headers, timeout=30).ok


def _public(live_server_url: str) -> tuple[str, dict]:
    port = live_server_url.rsplit(":", 1)[1]
    return f"http://127.0.0.1:{port}", {"Host": f"localhost:{port}"}


def test_the_public_sign_up_answers_as_its_schema_says(live_server_url):
    base, headers = _public(live_server_url)
    failures, operations = _fuzz_schema(base, headers)
    assert operations >= 1, "the sign-up is not in the public schema"
    assert not failures, "\n\n".join(failures)


SIGN_UP_FIELDS = ("name", "slug", "owner_name", "owner_email", "owner_password", "country")


def test_the_sign_up_page_never_answers_a_server_error(live_server_url):
    """The page's form, fuzzed: any text (control characters and all) in any field, or a
    field left out, is the form again or a refusal, never a 500."""
    base, headers = _public(live_server_url)
    browser = requests.Session()
    page = browser.get(f"{base}/", headers=headers, timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    values = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
    form = st.fixed_dictionaries({}, optional=dict.fromkeys(SIGN_UP_FIELDS, values))

    @given(fields=form, time_zone=st.sampled_from(["UTC", "Europe/Berlin", "", "Mars/Base"]))
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(fields: dict, time_zone: str) -> None:
        data = {**fields, "time_zone": time_zone, "csrfmiddlewaretoken": token}
        answer = browser.post(f"{base}/", data=data, headers=headers, timeout=30)
        assert answer.status_code < 500, (data, answer.status_code, answer.text[:300])

    fuzz()
