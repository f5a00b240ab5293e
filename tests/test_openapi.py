"""The OpenAPI documents describe every endpoint without guesswork (no warnings)."""

import pytest
from django.core.management import call_command


@pytest.mark.parametrize("urlconf", ["config.urls_tenant", "config.urls_public"])
def test_schema_generates_and_validates_without_warnings(tenants, urlconf, tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", validate=True, fail_on_warn=True, urlconf=urlconf, file=str(target))
    assert "openapi: 3" in target.read_text()
