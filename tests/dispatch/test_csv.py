"""CSV import and export: service rules, API contract, cross-tenant access, pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from dispatch.models import CsvImport, Order
from dispatch.services import csv_io
from tests.conftest import api_client, login_client

GOOD = (
    "Order ID,Customer,Phone,Address,Postcode,City,Delivery Date,From,Until,Weight,Notes\n"
    "C-1,Ada Lovelace,020 7946 0001,12 Baker Street,NW1 6XE,London,2026-12-01,9am,12:00,2.5,\n"
    'C-2,"Brown, Ben",020 7946 0002,"1 Long Road\nFlat 2",SE1 9SG,London,01/12/2026,'
    "14:00,16:00,1,Ring\n"
    "C-3,Cara Clarke,12,3 High Street,N1 0PN,London,2026-12-01,,,,\n"
    "C-4,,020 7946 0004,4 High Street,N1 0PN,London,2026-12-01,,,,\n"
    "C-1,Ada Again,020 7946 0005,5 High Street,N1 0PN,London,2026-12-01,,,,\n"
    "C-6,Dev Davies,020 7946 0006,6 High Street,N1 0PN,London,2026-12-01,10:00,09:00,,\n"
    "C-7,Ella Evans,,7 High Street,N1 0PN,London,2026-12-01,16:00,18:00,3,\n"
)


def start(text: str | bytes, name: str = "orders.csv") -> CsvImport:
    content = text.encode() if isinstance(text, str) else text
    return csv_io.csv_import_start(filename=name, content=content)


def test_columns_are_recognised_by_their_usual_names(alpha):
    with schema_context("alpha"):
        csv_import = start(GOOD)
    assert csv_import.mapping == {
        "external_id": "Order ID",
        "customer_name": "Customer",
        "customer_phone": "Phone",
        "address_line1": "Address",
        "city": "City",
        "postcode": "Postcode",
        "delivery_date": "Delivery Date",
        "window_start": "From",
        "window_end": "Until",
        "weight_kg": "Weight",
        "notes": "Notes",
    }
    assert csv_import.row_count == 7


def test_preview_reports_bad_rows_by_line_and_import_keeps_the_good_ones(alpha):
    with schema_context("alpha"):
        csv_import = start(GOOD)
        preview = csv_io.csv_import_preview(csv_import=csv_import)
        # Line 3 is a quoted address over two lines, so the rows after it start one later.
        assert {e["line"]: set(e["errors"]) for e in preview.errors} == {
            5: {"customer_phone"},
            6: {"customer_name"},
            7: {"external_id"},
            8: {"time_windows"},
        }
        assert "line 2" in preview.errors[2]["errors"]["external_id"][0]
        assert preview.valid == 3
        done = csv_io.csv_import_commit(csv_import=csv_import, actor="user:d@x")
        assert (done.created_count, done.status) == (3, "imported")
        ada = Order.objects.get(external_id="C-1")
        assert ada.source == "csv"
        assert ada.time_windows == [{"start": "09:00", "end": "12:00"}]
        assert ada.customer_phone == "+442079460001"
        ben = Order.objects.get(external_id="C-2")
        assert ben.delivery_date == dt.date(2026, 12, 1)  # 01/12/2026 read day-first in GB
        assert ben.address_line1 == "1 Long Road\nFlat 2"
        again = csv_io.csv_import_commit(csv_import=csv_import, actor="user:d@x")
        assert again.created_count == 3
        assert Order.objects.filter(source="csv").count() == 3


def test_the_same_file_imported_twice_creates_nothing_twice(alpha):
    with schema_context("alpha"):
        for _ in range(2):
            csv_import = start(GOOD)
            csv_io.csv_import_preview(csv_import=csv_import)
            result = csv_io.csv_import_commit(csv_import=csv_import, actor="user:d@x")
        assert (result.created_count, result.existing_count) == (0, 3)
        assert Order.objects.filter(source="csv").count() == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"name,address\n", "no orders"),
        (b"name,name\nA,B\n", "same name"),
        (b"x" * (csv_io.MAX_BYTES + 1), "over 5 MB"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(alpha, content, message):
    with schema_context("alpha"), pytest.raises(ValidationError) as exc:
        start(content)
    assert message in exc.value.message_dict["file"][0]


def test_too_many_rows_are_refused(alpha):
    rows = "".join(f"N{i},{i} Road,2026-12-01\n" for i in range(csv_io.MAX_ROWS + 1))
    with schema_context("alpha"), pytest.raises(ValidationError):
        start("name,address,date\n" + rows)


def test_semicolons_tabs_and_windows_1252_are_read(alpha):
    with schema_context("alpha"):
        semi = start("Name;Address;Date\nZoë;1 Rue;2026-12-01\n".encode("cp1252"))
        tabs = start("Name\tAddress\tDate\nAl\t2 Road\t2026-12-01\n")
        assert semi.delimiter == ";" and tabs.delimiter == "\t"
        assert csv_io.csv_import_preview(csv_import=semi).sample[0]["customer_name"] == "Zoë"
        assert csv_io.csv_import_preview(csv_import=tabs).valid == 1


def test_mapping_is_checked(alpha):
    with schema_context("alpha"):
        csv_import = start(GOOD)
        with pytest.raises(ValidationError) as exc:
            csv_io.csv_import_set_mapping(
                csv_import=csv_import, mapping={"colour": "Customer", "city": "Nope"}
            )
        errors = exc.value.message_dict
        assert any("not an order field" in m for m in errors["mapping"])
        assert any("no column 'Nope'" in m for m in errors["mapping"])
        assert "default_delivery_date" in errors
        mapped = csv_io.csv_import_set_mapping(
            csv_import=csv_import,
            mapping={"customer_name": "Customer", "address_line1": "Address"},
            default_delivery_date=dt.date(2026, 12, 24),
        )
        preview = csv_io.csv_import_preview(csv_import=mapped)
        assert [e["line"] for e in preview.errors] == [6]  # only the row without a name
        assert preview.sample[0]["delivery_date"] == "2026-12-24"


def test_export_reads_back_in_through_the_importer(alpha):
    with schema_context("alpha"):
        Order.objects.create(
            external_id="RT-1",
            customer_name="=HYPERLINK(evil)",
            customer_phone="+442079460009",
            address_line1="9 Round Trip",
            delivery_date=dt.date(2026, 12, 2),
            time_windows=[{"start": "08:00", "end": "10:00"}, {"start": "17:00", "end": "19:00"}],
            required_skills=["fridge"],
            lat=51.5,
            lng=-0.1,
        )
        text = "".join(csv_io.orders_csv(Order.objects.filter(external_id="RT-1")))
        assert "'=HYPERLINK(evil)" in text  # a spreadsheet won't run it
        Order.objects.filter(external_id="RT-1").update(external_id="RT-old")
        csv_import = start(text)
        assert set(csv_import.mapping) >= {"external_id", "window2_start", "lat", "lng"}
        csv_io.csv_import_preview(csv_import=csv_import)
        csv_io.csv_import_commit(csv_import=csv_import, actor="t")
        copy = Order.objects.get(external_id="RT-1")
        assert copy.customer_name == "=HYPERLINK(evil)"
        assert copy.time_windows == [
            {"start": "08:00", "end": "10:00"},
            {"start": "17:00", "end": "19:00"},
        ]
        assert (copy.required_skills, copy.lat, copy.customer_phone) == (
            ["fridge"],
            51.5,
            "+442079460009",
        )


# --- API -----------------------------------------------------------------------------


def test_api_flow_upload_map_preview_commit(alpha):
    client = api_client(alpha.host, alpha.api_key)
    upload = client.post("/api/v1/imports", GOOD.encode(), content_type="text/csv")
    assert upload.status_code == 201, upload.content
    import_id = upload.json()["id"]
    assert upload.json()["headers"][0] == "Order ID"
    mapping = {**upload.json()["mapping"], "notes": ""}
    put = client.put(f"/api/v1/imports/{import_id}/mapping", {"mapping": mapping}, format="json")
    assert put.status_code == 200
    preview = client.get(f"/api/v1/imports/{import_id}/preview").json()
    assert [e["line"] for e in preview["errors"]] == [5, 6, 7, 8]
    commit = client.post(f"/api/v1/imports/{import_id}/commit")
    assert commit.json()["created_count"] == 3
    assert client.post(f"/api/v1/imports/{import_id}/commit").json()["created_count"] == 3


def test_api_upload_as_multipart_file(alpha):
    client = api_client(alpha.host, alpha.api_key)
    response = client.post(
        "/api/v1/imports", {"file": SimpleUploadedFile("o.csv", GOOD.encode())}, format="multipart"
    )
    assert response.status_code == 201
    assert response.json()["filename"] == "o.csv"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"data": {}, "format": "multipart"}, "file"),
        ({"data": {"file": "not a file"}, "format": "multipart"}, "file"),
        ({"data": b"", "content_type": "text/csv"}, "file"),
    ],
)
def test_api_upload_errors_are_400(alpha, kwargs, field):
    response = api_client(alpha.host, alpha.api_key).post("/api/v1/imports", **kwargs)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_api_refuses_commit_before_preview_and_bad_mappings(alpha):
    client = api_client(alpha.host, alpha.api_key)
    import_id = client.post("/api/v1/imports", GOOD.encode(), content_type="text/csv").json()["id"]
    assert client.post(f"/api/v1/imports/{import_id}/commit").status_code == 400
    bad = client.put(f"/api/v1/imports/{import_id}/mapping", {"mapping": "x"}, format="json")
    assert bad.status_code == 400
    bad = client.put(
        f"/api/v1/imports/{import_id}/mapping",
        {"mapping": {"customer_name": "Nope"}},
        format="json",
    )
    assert bad.status_code == 400 and "mapping" in bad.json()["errors"]


def test_imports_of_another_tenant_are_404(alpha, beta):
    with schema_context("beta"):
        beta_import = start(GOOD)
    client = api_client(alpha.host, alpha.api_key)
    with schema_context("alpha"):
        if CsvImport.objects.filter(pk=beta_import.pk).exists():
            pytest.skip("alpha has an import with the same id in this run")
    for method, path in (
        ("get", f"/api/v1/imports/{beta_import.pk}"),
        ("get", f"/api/v1/imports/{beta_import.pk}/preview"),
        ("post", f"/api/v1/imports/{beta_import.pk}/commit"),
    ):
        assert getattr(client, method)(path).status_code == 404
    assert (
        api_client(alpha.host, beta.api_key).get(f"/api/v1/imports/{beta_import.pk}").status_code
        == 401
    )


def test_read_only_key_cannot_import(alpha):
    response = api_client(alpha.host, alpha.read_key).post(
        "/api/v1/imports", GOOD.encode(), content_type="text/csv"
    )
    assert response.status_code == 403


def test_export_api_follows_the_filters(alpha):
    with schema_context("alpha"):
        for day in (1, 2):
            Order.objects.create(
                customer_name=f"Day {day}", address_line1="x", delivery_date=dt.date(2026, 12, day)
            )
    client = api_client(alpha.host, alpha.read_key)
    response = client.get("/api/v1/orders/export.csv?delivery_date=2026-12-02")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    assert "Day 2" in body and "Day 1" not in body
    assert client.get("/api/v1/orders/export.csv?delivery_date=nope").status_code == 400


# --- pages ---------------------------------------------------------------------------


def test_page_flow_shows_errors_then_imports(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    upload = client.post("/imports/", {"file": SimpleUploadedFile("o.csv", GOOD.encode())})
    assert upload.status_code == 302
    detail = upload["Location"]
    mapping = {**csv_io.suggest_mapping(GOOD.splitlines()[0].split(","))}
    checked = client.post(detail, mapping)
    assert checked.status_code == 302
    page = client.get(detail).content.decode()
    assert "Line 5" in page and "Line 8" in page and "Import 3 orders" in page
    result = client.post(f"{detail}import/", follow=True).content.decode()
    assert "3 orders imported" in result


def test_page_upload_errors_and_export_download(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    bad = client.post("/imports/", {"file": SimpleUploadedFile("o.csv", b"")})
    assert bad.status_code == 200
    export = client.get("/imports/export/?status=unassigned")
    assert export.status_code == 200 and export["Content-Disposition"].startswith("attachment")
    assert login_client(alpha.host, alpha.driver_email).get("/imports/").status_code == 403
