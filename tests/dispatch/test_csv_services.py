"""CSV import and export rules: reading files, mapping, per-line errors, import once."""

from __future__ import annotations

import codecs
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from dispatch.models import CsvImport, Order
from dispatch.services import csv_io
from tenants.models import Tenant
from tests.conftest import FIXED_NOW

# Literal December 2026 dates below: the clock is pinned before them.
# their dates are fixed: the clock is too (time-machine, ticking from FIXED_NOW)
pytestmark = pytest.mark.time_machine(FIXED_NOW, tick=True)

# Line 3 holds a quoted address over two lines, so every row after it starts a line later.
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
GOOD_ERRORS = {5: {"customer_phone"}, 6: {"customer_name"}, 7: {"external_id"}, 8: {"time_windows"}}


def start(text: str | bytes, name: str = "orders.csv") -> CsvImport:
    return csv_io.csv_import_start(filename=name, content=text)


def previewed(text: str | bytes) -> tuple[CsvImport, csv_io.Preview]:
    csv_import = start(text)
    return csv_import, csv_io.csv_import_preview(csv_import=csv_import)


def error_fields(preview: csv_io.Preview) -> dict[int, set[str]]:
    return {e["line"]: set(e["errors"]) for e in preview.errors}


# --- the mapping suggested from the header ---------------------------------------------


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


def test_synonyms_ignore_case_spaces_and_underscores():
    headers = [
        "REFERENCE",
        "Recipient",
        "Mobile",
        "E-mail",
        "street",
        "Address 2",
        "Town",
        "Zip Code",
        "County",
        "Country",
        "Latitude",
        "Lon",
        "delivery_date",
        "Window Start",
        "window_end",
        "Service Minutes",
        "Weight (kg)",
        "Volume",
        "Qty",
        "Skills",
        "Priority",
        "Instructions",
    ]
    assert csv_io.suggest_mapping(headers) == {
        "external_id": "REFERENCE",
        "customer_name": "Recipient",
        "customer_phone": "Mobile",
        "customer_email": "E-mail",
        "address_line1": "street",
        "address_line2": "Address 2",
        "city": "Town",
        "postcode": "Zip Code",
        "region": "County",
        "country": "Country",
        "lat": "Latitude",
        "lng": "Lon",
        "delivery_date": "delivery_date",
        "window_start": "Window Start",
        "window_end": "window_end",
        "service_minutes": "Service Minutes",
        "weight_kg": "Weight (kg)",
        "volume_l": "Volume",
        "items": "Qty",
        "required_skills": "Skills",
        "priority": "Priority",
        "notes": "Instructions",
    }


def test_field_names_beat_synonyms_and_prefixes_are_understood():
    mapping = csv_io.suggest_mapping(
        [
            "Customer ID",
            "Name",
            "Customer Name",
            "Date",
            "Delivery Date",
            "Shipping Address",
            "Delivery Postcode",
            "Time slot",
        ]
    )
    assert mapping == {
        "customer_name": "Customer Name",
        "delivery_date": "Delivery Date",
        "address_line1": "Shipping Address",
        "postcode": "Delivery Postcode",
        "time_windows": "Time slot",
    }  # and "Customer ID" is not taken for the order's reference


# --- reading files ---------------------------------------------------------------------


def test_semicolons_tabs_pipes_and_windows_1252_are_read(alpha):
    with schema_context("alpha"):
        semi = start("Name;Address;Date\nZoë;1 Rue;2026-12-01\n".encode("cp1252"))
        tabs = start("Name\tAddress\tDate\nAl, Jr\t2 Road\t2026-12-01\n")
        pipes = start("Name|Address|Date\nBo|3 Road|2026-12-01\n")
        assert (semi.delimiter, tabs.delimiter, pipes.delimiter) == (";", "\t", "|")
        assert csv_io.csv_import_preview(csv_import=semi).sample[0].data["customer_name"] == "Zoë"
        assert csv_io.csv_import_preview(csv_import=tabs).sample[0].data["customer_name"] == (
            "Al, Jr"
        )
        assert csv_io.csv_import_preview(csv_import=pipes).valid == 1


@pytest.mark.parametrize(
    "content",
    [
        codecs.BOM_UTF8 + "Name,Address,Date\nZoë,1 Rue,2026-12-01\n".encode(),
        "Name\tAddress\tDate\nZoë\t1 Rue\t2026-12-01\n".encode("utf-16"),  # Excel "Unicode text"
        "Name,Address,Date\r\nZoë,1 Rue,2026-12-01\r\n".encode("cp1252"),
        b"Name,Address,Date\rZo\xeb,1 Rue,2026-12-01\r",  # old Mac line ends
        "sep=;\nName;Address;Date\nZoë;1 Rue, Paris;2026-12-01\n".encode(),  # Excel's hint
    ],
    ids=["utf8-bom", "utf16", "cp1252-crlf", "cr", "sep-hint"],
)
def test_encodings_and_line_ends_are_read(alpha, content):
    with schema_context("alpha"):
        csv_import, preview = previewed(content)
    assert csv_io.csv_headers(csv_import) == ["Name", "Address", "Date"]
    assert preview.sample[0].data["customer_name"] == "Zoë"
    assert preview.valid == 1


def test_bytes_undefined_in_windows_1252_fall_back_to_latin_1(alpha):
    with schema_context("alpha"):
        _, preview = previewed(b"Name,Address,Date\nA\x81b,1 Rue,2026-12-01\n")
    assert preview.sample[0].data["customer_name"] == "A\x81b"


def test_text_is_accepted_as_well_as_bytes(alpha):
    with schema_context("alpha"):
        assert start("Name,Address,Date\nA,1 Rue,2026-12-01\n").row_count == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b" \n\n", "empty"),
        (b"name,address\n", "no orders"),
        (b"name,address\n\n,\n", "no orders"),
        (b"name,name\nA,B\n", "same name: name"),
        (b"x" * (csv_io.MAX_BYTES + 1), "over 5 MB"),
        (b"PK\x03\x04\x14\x00\x06\x00", "spreadsheet"),
        (b"name\x00,address\nA,B\n", "not a text file"),
        (codecs.BOM_UTF16_LE + b"N\x00a", "not readable"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(alpha, content, message):
    with schema_context("alpha"), pytest.raises(ValidationError) as exc:
        start(content)
    assert message in exc.value.message_dict["file"][0]


def test_too_many_rows_are_refused(alpha):
    rows = "".join(f"N{i},{i} Road,2026-12-01\n" for i in range(csv_io.MAX_ROWS + 1))
    with schema_context("alpha"), pytest.raises(ValidationError) as exc:
        start("name,address,date\n" + rows)
    assert "At most 10,000 orders" in exc.value.message_dict["file"][0]


def test_a_file_at_the_limits_is_taken(alpha):
    rows = "".join(f"N{i},{i} Road,2026-12-01\n" for i in range(csv_io.MAX_ROWS))
    with schema_context("alpha"):
        assert start("name,address,date\n" + rows).row_count == csv_io.MAX_ROWS


def test_blank_column_names_are_left_out(alpha):
    with schema_context("alpha"):
        csv_import = start("Name,,Address,,Date,\nA,x,1 Rue,,2026-12-01,\n")
    assert csv_io.csv_headers(csv_import) == ["Name", "Address", "Date"]


def test_file_names_lose_their_folders(alpha):
    with schema_context("alpha"):
        assert start(GOOD, name="C:\\Users\\me\\orders.csv").filename == "orders.csv"
        assert start(GOOD, name="").filename == "upload.csv"


# --- per-line errors -------------------------------------------------------------------


def test_preview_reports_bad_rows_by_line_and_import_keeps_the_good_ones(alpha):
    with schema_context("alpha"):
        csv_import, preview = previewed(GOOD)
        assert error_fields(preview) == GOOD_ERRORS
        assert preview.errors[2]["errors"]["external_id"] == ["Same reference as line 2."]
        assert (preview.valid, preview.invalid, preview.row_count) == (3, 4, 7)
        csv_import.refresh_from_db()
        assert (csv_import.status, csv_import.valid_count) == ("previewed", 3)
        assert [e["line"] for e in csv_import.errors] == [5, 6, 7, 8]

        result = csv_io.csv_import_commit(csv_import=csv_import, actor="user:d@x")
        done = result.csv_import
        assert (done.created_count, done.existing_count, done.status) == (3, 0, "imported")
        assert done.errors == preview.errors  # the same words before and after
        assert [(r["line"], r["status"]) for r in result.lines] == [
            (2, "created"),
            (3, "created"),
            (5, "invalid"),
            (6, "invalid"),
            (7, "invalid"),
            (8, "invalid"),
            (9, "created"),
        ]
        ada = Order.objects.get(external_id="C-1")
        assert result.lines[0]["id"] == ada.pk
        assert (ada.source, ada.customer_phone) == ("csv", "+442079460001")
        assert ada.time_windows == [{"start": "09:00", "end": "12:00"}]
        assert ada.weight_kg == Decimal("2.50")
        ben = Order.objects.get(external_id="C-2")
        assert ben.delivery_date == dt.date(2026, 12, 1)  # 01/12/2026 is day-first in GB
        assert (ben.customer_name, ben.address_line1) == ("Brown, Ben", "1 Long Road\nFlat 2")
        assert ben.events.get().actor == "user:d@x"


def test_committing_twice_creates_nothing_new(alpha):
    with schema_context("alpha"):
        csv_import, _ = previewed(GOOD)
        first = csv_io.csv_import_commit(csv_import=csv_import, actor="user:d@x")
        again = csv_io.csv_import_commit(csv_import=csv_import, actor="user:d@x")
        assert again.replayed and again.lines is None
        assert (again.csv_import.created_count, again.csv_import.errors) == (
            3,
            first.csv_import.errors,
        )
        assert Order.objects.filter(source="csv").count() == 3
        # A preview of an imported file changes nothing stored.
        csv_io.csv_import_preview(csv_import=csv_import)
        csv_import.refresh_from_db()
        assert csv_import.status == "imported"
        with pytest.raises(ValidationError):
            csv_io.csv_import_set_mapping(csv_import=csv_import, mapping=csv_import.mapping)


def test_the_same_file_imported_twice_creates_nothing_twice(alpha):
    with schema_context("alpha"):
        for _ in range(2):
            csv_import, _ = previewed(GOOD)
            result = csv_io.csv_import_commit(csv_import=csv_import, actor="user:d@x")
        done = result.csv_import
        assert (done.created_count, done.existing_count) == (0, 3)
        ada = Order.objects.get(external_id="C-1")
        assert result.lines[0] == {"line": 2, "status": "exists", "id": ada.pk, "errors": {}}
        assert Order.objects.filter(source="csv").count() == 3


def test_preview_warns_of_what_could_create_orders_twice(alpha):
    with schema_context("alpha"):
        first, preview = previewed(GOOD)
        assert preview.warnings == []
        csv_io.csv_import_commit(csv_import=first, actor="t")
        _, preview = previewed(GOOD)
        assert "This file was imported before (orders.csv" in preview.warnings[0]
        _, preview = previewed("Name,Address,Date\nAnn,1 Rue,2026-12-01\n")
        assert preview.warnings == [
            "No reference column: if this file is imported again, its orders will be created again."
        ]


def test_commit_needs_a_preview(alpha):
    with schema_context("alpha"):
        csv_import = start(GOOD)
        with pytest.raises(ValidationError) as exc:
            csv_io.csv_import_commit(csv_import=csv_import, actor="t")
        assert "status" in exc.value.message_dict
        assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("Ann,1 Rue,2026-02-30,,,", "delivery_date", "'2026-02-30' is not a date: write 20"),
        ("Ann,1 Rue,tomorrow,,,", "delivery_date", "'tomorrow' is not a date"),
        ("Ann,1 Rue,,,,", "delivery_date", "required"),
        ("Ann,,2026-12-01,,,", "address_line1", "address"),
        ("Ann,1 Rue,2026-12-01,noon,14:00,", "time_windows", "HH:MM"),
        ("Ann,1 Rue,2026-12-01,9:00,,", "time_windows", "HH:MM"),
        ("Ann,1 Rue,2026-12-01,,,09:00-12:00; 11:00-13:00", "time_windows", "overlap"),
        ("Ann,1 Rue,2026-12-01,,,whenever", "time_windows", "'whenever' is not a window"),
        ("Ann,1 Rue,2026-12-01,,,,,,extra", "row", "9 values but the header names 8"),
        ("Ann,1 Rue,2026-12-01,,,,,inf", "service_s", "'inf' is not a number of minutes"),
        ("Ann,1 Rue,2026-12-01,,,,,-5", "service_s", "0 or more"),
    ],
)
def test_each_bad_value_is_reported_on_its_line(alpha, row, field, message):
    header = "Name,Address,Date,From,Until,Slot,,Service\n"
    with schema_context("alpha"):
        _, preview = previewed(header + "Bob,2 Rue,2026-12-01,,,,,\n\n" + row + "\n")
    (error,) = preview.errors
    assert error["line"] == 4  # the header, Bob, a blank line, then this one
    assert message in " ".join(error["errors"][field])


def test_spreadsheet_formats_of_dates_times_and_numbers_are_read(alpha):
    header = "Name;Address;Date;From;Until;Weight;Service\n"
    rows = "Ann;1 Rue;2026-12-01 00:00:00;09:00:00;2:30 PM;2,5;7,5\n"
    with schema_context("alpha"):
        _, preview = previewed(header + rows)
        assert preview.errors == []
        data = preview.sample[0].data
        assert data["delivery_date"] == "2026-12-01"
        assert data["time_windows"] == [{"start": "09:00", "end": "14:30"}]
        assert (data["weight_kg"], data["service_s"]) == ("2.5", 450)


def test_one_column_of_windows(alpha):
    text = "Name,Address,Date,Delivery window\nAnn,1 Rue,2026-12-01,9am - 11am; 2pm-4pm\n"
    with schema_context("alpha"):
        csv_import, _ = previewed(text)
        assert csv_import.mapping["time_windows"] == "Delivery window"
        csv_io.csv_import_commit(csv_import=csv_import, actor="t")
        assert Order.objects.get().time_windows == [
            {"start": "09:00", "end": "11:00"},
            {"start": "14:00", "end": "16:00"},
        ]


def test_dates_are_month_first_for_us_tenants(alpha):
    Tenant.objects.filter(schema_name="alpha").update(country="US")
    with schema_context("alpha"):
        _, preview = previewed("Name,Address,Date\nAnn,1 Main St,12/01/2026\n")
    assert preview.sample[0].data["delivery_date"] == "2026-12-01"


# --- choosing the columns --------------------------------------------------------------


def test_mapping_is_checked(alpha):
    with schema_context("alpha"):
        csv_import = start(GOOD)
        with pytest.raises(ValidationError) as exc:
            csv_io.csv_import_set_mapping(
                csv_import=csv_import,
                mapping={"colour": "Customer", "city": "Nope", "window_start": "From"},
            )
        errors = exc.value.message_dict
        assert any("not an order field" in m for m in errors["mapping"])
        assert any("no column 'Nope'" in m for m in errors["mapping"])
        assert any("customer's name" in m for m in errors["mapping"])
        assert any("address column" in m for m in errors["mapping"])
        assert any("window_end" in m for m in errors["mapping"])
        assert "default_delivery_date" in errors
        with pytest.raises(ValidationError):
            csv_io.csv_import_set_mapping(csv_import=csv_import, mapping=["Customer"])


def test_a_default_date_and_fewer_columns(alpha):
    with schema_context("alpha"):
        csv_import = start(GOOD)
        mapped = csv_io.csv_import_set_mapping(
            csv_import=csv_import,
            mapping={"customer_name": "Customer", "address_line1": "Address", "city": ""},
            default_delivery_date=dt.date(2026, 12, 24),
        )
        assert mapped.mapping == {"customer_name": "Customer", "address_line1": "Address"}
        preview = csv_io.csv_import_preview(csv_import=mapped)
        assert [e["line"] for e in preview.errors] == [6]  # only the row without a name
        assert preview.sample[0].data["delivery_date"] == "2026-12-24"


def test_coordinates_instead_of_an_address(alpha):
    text = "Name,Lat,Lng,Date\nAnn,51.5,-0.12,2026-12-01\nBob,51.5,,2026-12-01\n"
    with schema_context("alpha"):
        csv_import, preview = previewed(text)
        assert error_fields(preview) == {3: {"lng"}}
        csv_io.csv_import_commit(csv_import=csv_import, actor="t")
        assert Order.objects.get().geocode_status == "provided"


def test_a_preview_needs_the_required_columns(alpha):
    with schema_context("alpha"):
        csv_import = start("Colour,Size\nred,L\n")
        assert csv_import.mapping == {}
        with pytest.raises(ValidationError) as exc:
            csv_io.csv_import_preview(csv_import=csv_import)
        assert "mapping" in exc.value.message_dict
        assert "default_delivery_date" in exc.value.message_dict


def test_a_new_mapping_asks_for_a_new_preview(alpha):
    with schema_context("alpha"):
        csv_import, _ = previewed(GOOD)
        csv_io.csv_import_set_mapping(
            csv_import=csv_import, mapping={**csv_import.mapping, "notes": ""}
        )
        assert csv_import.status == "uploaded"
        with pytest.raises(ValidationError):
            csv_io.csv_import_commit(csv_import=csv_import, actor="t")


def test_last_preview_is_read_from_what_was_stored(alpha):
    with schema_context("alpha"):
        csv_import, preview = previewed(GOOD)
        stored = csv_io.csv_import_last_preview(csv_import=csv_import)
        assert (stored.valid, stored.errors) == (preview.valid, preview.errors)
        assert [o.line for o in stored.sample if o.errors] == [5, 6, 7, 8]


def test_old_uploads_are_purged_and_their_orders_kept(alpha):
    with schema_context("alpha"):
        csv_import, _ = previewed(GOOD)
        csv_io.csv_import_commit(csv_import=csv_import, actor="t")
        assert csv_io.csv_imports_purge(older_than=dt.timedelta(days=1)) == 0
        assert csv_io.csv_imports_purge(older_than=dt.timedelta(0)) == 1
        assert Order.objects.count() == 3


# --- export ----------------------------------------------------------------------------


def test_export_reads_back_in_through_the_importer(alpha):
    fields = {
        "customer_name": "=HYPERLINK(evil)",
        "customer_phone": "+442079460009",
        "customer_email": "rt@example.test",
        "address_line1": "9 Round Trip",
        "address_line2": "Flat 1, back door",
        "city": "London",
        "postcode": "N1 9GU",
        "region": "Greater London",
        "country": "GB",
        "lat": 51.5,
        "lng": -0.1,
        "delivery_date": dt.date(2026, 12, 2),
        "time_windows": [
            {"start": "08:00", "end": "10:00"},
            {"start": "12:00", "end": "13:00"},
            {"start": "17:00", "end": "19:00"},
        ],
        "service_s": 90,
        "weight_kg": Decimal("12.50"),
        "volume_l": Decimal("40.00"),
        "items": 3,
        "required_skills": ["fridge", "two-person"],
        "priority": 4,
        "notes": "Ring twice,\nthen wait",
    }
    with schema_context("alpha"):
        Order.objects.create(external_id="RT-1", **fields)
        text = "".join(csv_io.orders_csv(Order.objects.filter(external_id="RT-1")))
        assert text.splitlines()[0] == ",".join(csv_io.EXPORT_COLUMNS)
        assert "'=HYPERLINK(evil)" in text  # a spreadsheet won't run it
        Order.objects.filter(external_id="RT-1").update(external_id="RT-old")

        csv_import = start(text)
        assert set(csv_import.mapping) == set(csv_io.EXPORT_COLUMNS) - {"status", "id"}
        csv_import, preview = csv_import, csv_io.csv_import_preview(csv_import=csv_import)
        assert preview.errors == []
        csv_io.csv_import_commit(csv_import=csv_import, actor="t")
        copy = Order.objects.get(external_id="RT-1")
        assert {name: getattr(copy, name) for name in fields} == fields


def test_export_is_streamed_a_line_at_a_time(alpha):
    with schema_context("alpha"):
        for day in (1, 2):
            Order.objects.create(
                customer_name=f"-Day {day}", address_line1="x", delivery_date=dt.date(2026, 12, day)
            )
        lines = list(csv_io.orders_csv(Order.objects.order_by("delivery_date")))
    assert len(lines) == 3
    assert lines[1].split(",")[1] == "'-Day 1"
