"""The CSV import and export API: contract, field errors (never a 500), who may use it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from dispatch.models import CsvImport, Order
from dispatch.services import csv_io
from tests.conftest import api_client, login_client
from tests.dispatch.test_csv_services import GOOD


def upload(client, text: str = GOOD, **extra):
    return client.post("/api/v1/imports", text.encode(), content_type="text/csv", **extra)


@pytest.fixture
def client(alpha):
    return api_client(alpha.host, alpha.api_key)


def test_api_flow_upload_map_preview_commit(client):
    response = upload(client, QUERY_STRING="filename=day.csv")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["filename"] == "day.csv"
    assert (body["status"], body["row_count"], body["delimiter"]) == ("uploaded", 7, ",")
    assert body["headers"][:3] == ["Order ID", "Customer", "Phone"]
    assert body["mapping"]["customer_name"] == "Customer"
    import_id = body["id"]
    assert client.get(f"/api/v1/imports/{import_id}").json()["mapping"] == body["mapping"]

    mapping = {**body["mapping"], "notes": ""}
    put = client.put(f"/api/v1/imports/{import_id}/mapping", {"mapping": mapping}, format="json")
    assert put.status_code == 200
    assert "notes" not in put.json()["mapping"]

    preview = client.get(f"/api/v1/imports/{import_id}/preview")
    assert preview.status_code == 200
    data = preview.json()
    assert (data["row_count"], data["valid"], data["invalid"]) == (7, 3, 4)
    assert [e["line"] for e in data["errors"]] == [5, 6, 7, 8]
    assert "customer_phone" in data["errors"][0]["errors"]
    first = data["sample"][0]
    assert (first["line"], first["values"]["customer_name"]) == (2, "Ada Lovelace")
    assert first["data"]["time_windows"] == [{"start": "09:00", "end": "12:00"}]

    commit = client.post(f"/api/v1/imports/{import_id}/commit")
    assert commit.status_code == 200
    result = commit.json()
    assert (result["created_count"], result["invalid_count"], result["replayed"]) == (3, 4, False)
    lines = {r["line"]: r for r in result["results"]}
    with schema_context("alpha"):
        assert lines[2]["id"] == Order.objects.get(external_id="C-1").pk
    assert lines[5]["status"] == "invalid" and "customer_phone" in lines[5]["errors"]

    again = client.post(f"/api/v1/imports/{import_id}/commit").json()
    assert (again["created_count"], again["replayed"], again["results"]) == (3, True, None)
    assert again["errors"] == result["errors"]
    with schema_context("alpha"):
        assert Order.objects.filter(source="csv").count() == 3


def test_upload_as_multipart_file(client):
    response = client.post(
        "/api/v1/imports", {"file": SimpleUploadedFile("o.csv", GOOD.encode())}, format="multipart"
    )
    assert response.status_code == 201
    assert response.json()["filename"] == "o.csv"


def test_a_dispatcher_signed_in_may_import(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.post("/api/v1/imports", GOOD.encode(), content_type="text/csv")
    assert response.status_code == 201
    with schema_context("alpha"):
        assert CsvImport.objects.get(pk=response.json()["id"]).created_by.email == (
            alpha.dispatcher_email
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data": {}, "format": "multipart"}, "'file' field"),
        ({"data": {"file": "not a file"}, "format": "multipart"}, "'file' field"),
        ({"data": b"", "content_type": "text/csv"}, "empty"),
        ({"data": b"Name,Address\n", "content_type": "text/plain"}, "no orders"),
        ({"data": b"PK\x03\x04\x14\x00", "content_type": "text/csv"}, "spreadsheet"),
        ({"data": b"a" * (csv_io.MAX_BYTES + 10), "content_type": "text/csv"}, "5 MB"),
        (
            {
                "data": {"file": SimpleUploadedFile("big.csv", b"a" * (csv_io.MAX_BYTES + 10))},
                "format": "multipart",
            },
            "5 MB",
        ),
    ],
)
def test_unusable_uploads_are_400_with_a_field_error(client, kwargs, message):
    response = client.post("/api/v1/imports", **kwargs)
    assert response.status_code == 400
    assert message in response.json()["errors"]["file"][0]


def test_an_upload_of_another_media_type_is_415(client):
    response = client.post("/api/v1/imports", {"csv": "x"}, format="json")
    assert response.status_code == 415


def test_a_large_file_below_the_limit_is_taken(client):
    row = "R{i},Name {i},1 Long Road,2026-12-01," + "x" * 380 + "\n"
    text = "Ref,Name,Address,Date,Notes\n" + "".join(row.format(i=i) for i in range(10_000))
    assert 4 * 1024 * 1024 < len(text) < csv_io.MAX_BYTES
    response = upload(client, text)
    assert response.status_code == 201
    assert response.json()["row_count"] == 10_000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mapping": "x"}, "mapping"),
        ({}, "mapping"),
        ({"mapping": {"customer_name": "Nope"}}, "mapping"),
        ({"mapping": {"customer_name": ["Customer"]}}, "mapping"),
        ({"mapping": {"colour": "Customer"}}, "mapping"),
        ({"mapping": {"customer_name": "Customer", "address_line1": "Address"}}, "default_"),
        ({"mapping": {"customer_name": "Customer"}, "default_delivery_date": "soon"}, "default_"),
    ],
)
def test_bad_mappings_are_400_with_field_errors(client, body, field):
    import_id = upload(client).json()["id"]
    response = client.put(f"/api/v1/imports/{import_id}/mapping", body, format="json")
    assert response.status_code == 400
    assert any(name.startswith(field) for name in response.json()["errors"])


def test_a_default_date_through_the_api(client):
    import_id = upload(client).json()["id"]
    mapping = {"customer_name": "Customer", "address_line1": "Address"}
    response = client.put(
        f"/api/v1/imports/{import_id}/mapping",
        {"mapping": mapping, "default_delivery_date": "2026-12-24"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["default_delivery_date"] == "2026-12-24"
    preview = client.get(f"/api/v1/imports/{import_id}/preview").json()
    assert preview["sample"][0]["data"]["delivery_date"] == "2026-12-24"


def test_steps_out_of_order_are_400(client):
    import_id = upload(client).json()["id"]
    assert client.post(f"/api/v1/imports/{import_id}/commit").status_code == 400
    unmappable = upload(client, "Colour,Size\nred,L\n").json()["id"]
    response = client.get(f"/api/v1/imports/{unmappable}/preview")
    assert response.status_code == 400 and "mapping" in response.json()["errors"]
    client.get(f"/api/v1/imports/{import_id}/preview")
    client.post(f"/api/v1/imports/{import_id}/commit")
    response = client.put(
        f"/api/v1/imports/{import_id}/mapping", {"mapping": {"customer_name": "Customer"}}
    )
    assert response.status_code == 400
    assert "already imported" in response.json()["errors"]["mapping"][0]


def test_unknown_imports_are_404(client):
    for method, path in (
        ("get", "/api/v1/imports/999999"),
        ("put", "/api/v1/imports/999999/mapping"),
        ("get", "/api/v1/imports/999999/preview"),
        ("post", "/api/v1/imports/999999/commit"),
    ):
        assert getattr(client, method)(path).status_code == 404


def test_imports_of_another_tenant_are_404_even_with_the_same_id(alpha, beta):
    with schema_context("beta"):
        beta_import = csv_io.csv_import_start(filename="b.csv", content=GOOD)
    with schema_context("alpha"):
        CsvImport.objects.filter(pk=beta_import.pk).delete()  # rolled back after the test
    client = api_client(alpha.host, alpha.api_key)
    for method, path in (
        ("get", f"/api/v1/imports/{beta_import.pk}"),
        ("put", f"/api/v1/imports/{beta_import.pk}/mapping"),
        ("get", f"/api/v1/imports/{beta_import.pk}/preview"),
        ("post", f"/api/v1/imports/{beta_import.pk}/commit"),
    ):
        assert getattr(client, method)(path).status_code == 404, path
    beta_key_on_alpha = api_client(alpha.host, beta.api_key)
    assert beta_key_on_alpha.get(f"/api/v1/imports/{beta_import.pk}").status_code == 401
    assert upload(beta_key_on_alpha).status_code == 401
    assert beta_key_on_alpha.get("/api/v1/orders/export.csv").status_code == 401
    with schema_context("beta"):
        assert CsvImport.objects.get(pk=beta_import.pk).status == "uploaded"


def test_read_only_keys_drivers_and_strangers_cannot_import(alpha):
    read_only = api_client(alpha.host, alpha.read_key)
    assert upload(read_only).status_code == 403
    import_id = upload(api_client(alpha.host, alpha.api_key)).json()["id"]
    assert read_only.get(f"/api/v1/imports/{import_id}").status_code == 403
    assert read_only.get(f"/api/v1/imports/{import_id}/preview").status_code == 403
    assert read_only.post(f"/api/v1/imports/{import_id}/commit").status_code == 403
    driver = login_client(alpha.host, alpha.driver_email)
    assert driver.post("/api/v1/imports", GOOD, content_type="text/csv").status_code == 403
    assert upload(api_client(alpha.host)).status_code in (401, 403)


# --- export ----------------------------------------------------------------------------


def test_export_follows_the_filters(alpha):
    with schema_context("alpha"):
        for day in (1, 2):
            Order.objects.create(
                customer_name=f"Day {day}", address_line1="x", delivery_date=dt.date(2026, 12, day)
            )
    client = api_client(alpha.host, alpha.read_key)  # reading orders is enough
    response = client.get("/api/v1/orders/export.csv?delivery_date=2026-12-02")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="orders-2026-12-02.csv"'
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0].startswith("external_id,customer_name,")
    assert "Day 2" in body and "Day 1" not in body
    everything = client.get("/api/v1/orders/export.csv?status=unassigned&status=planned")
    assert b"Day 1" in b"".join(everything.streaming_content)
    for query in ("delivery_date=nope", "status=lost"):
        response = client.get(f"/api/v1/orders/export.csv?{query}")
        assert response.status_code == 400 and response.json()["errors"]


def test_export_does_not_collide_with_order_routes(alpha):
    client = api_client(alpha.host, alpha.api_key)
    assert client.get("/api/v1/orders").status_code == 200
    assert client.get("/api/v1/orders/export.csv").status_code == 200
