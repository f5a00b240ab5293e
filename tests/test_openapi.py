"""The OpenAPI documents describe every endpoint without guesswork (no warnings)."""

import pytest
from django.core.management import call_command


@pytest.mark.parametrize("urlconf", ["config.urls_tenant", "config.urls_public"])
def test_schema_generates_and_validates_without_warnings(tenants, urlconf, tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", validate=True, fail_on_warn=True, urlconf=urlconf, file=str(target))
    assert "openapi: 3" in target.read_text()


def _operations(urlconf: str):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.mark.parametrize("urlconf", ["config.urls_tenant", "config.urls_public"])
def test_every_operation_documents_503_with_retry_after(tenants, urlconf):
    """Any operation answers 503 (with Retry-After) while the database is away."""
    for name, operation in _operations(urlconf):
        answer = operation["responses"].get("503")
        assert answer, f"{name} does not document 503"
        assert answer["content"]["application/json"]["schema"] == ERROR_REF, name
        assert "Retry-After" in answer.get("headers", {}), name


@pytest.mark.parametrize("urlconf", ["config.urls_tenant", "config.urls_public"])
def test_every_operation_with_a_body_documents_413(tenants, urlconf):
    """A body over the upload limit is a 413; an operation that takes no body cannot give it."""
    with_body = 0
    for name, operation in _operations(urlconf):
        answer = operation["responses"].get("413")
        if "requestBody" in operation:
            with_body += 1
            assert answer, f"{name} does not document 413"
            assert answer["content"]["application/json"]["schema"] == ERROR_REF, name
        else:
            assert answer is None, f"{name} takes no body but documents 413"
    assert with_body > 0
