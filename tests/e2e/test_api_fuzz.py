"""The API fuzzed with schemathesis against its own OpenAPI schema, over HTTP against the
running server, with a write key of a tenant of its own: no answer is a server error, and
every answer (status, content type, body) is one the schema documents.

Every operation gets a few generated requests (hypothesis, derandomized so that a failure
comes back on the next run); the failures of all operations are reported together."""

from __future__ import annotations

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

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


def test_the_api_answers_as_its_schema_says(live_server_url, django_db_blocker):
    from tenants.services.provisioning import api_key_create

    tenant = live_tenant(django_db_blocker, live_server_url, "fuzz")
    with django_db_blocker.unblock():
        _, key = api_key_create(tenant=tenant.provisioned.tenant, name="fuzzer")
    base = f"http://127.0.0.1:{tenant.port}"
    headers = {"Host": tenant.host, "Authorization": f"Bearer {key}"}
    raw = requests.get(f"{base}/api/schema/?format=json", headers=headers, timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED:
            continue
        operations += 1

        try:
            _fuzz(operation, base, headers)
        except BaseException as exc:  # a FailureGroup: each operation's, all reported
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:1500])
    assert operations > 50, "the schema lost its operations"
    assert not failures, "\n\n".join(failures)
