"""CSV in and out: upload → map columns → preview with per-line errors → import; export.

Rows are validated by the same order input schema as the API
(dispatch.services.order_input), so a CSV order and an API order obey the same rules.
Bad rows are reported by their line in the file (the header is line 1; a quoted value
over several lines counts them all) and never stop the good rows; importing twice
creates nothing twice.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from audit.services import record
from core.bulk import unstorable_message
from dispatch.models import CsvImport, Order
from dispatch.services.order_input import UnreadDate, order_schema
from dispatch.services.orders import orders_create
from dispatch.services.parsing import (
    DateReader,
    date_reader,
    minutes_as_seconds,
    time_of_day,
    time_window,
)
from tenants.selectors import current_tenant

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
SAMPLE_ROWS = 50
DELIMITERS = (",", ";", "\t", "|")
#: Between the codes of one `barcodes` cell.
BARCODE_SEPARATORS = re.compile(r"[;|]")
WINDOW_COLUMNS = (
    ("window_start", "window_end"),
    ("window2_start", "window2_end"),
    ("window3_start", "window3_end"),
    ("window4_start", "window4_end"),
)

# What a column can fill, with the header names people use for it. Headers are compared
# without case, spaces or punctuation ("Postal code" = "postal_code" = "POSTALCODE").
TARGETS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "order id",
        "order number",
        "order no",
        "order ref",
        "reference",
        "ref",
        "id",
        "order",
    ),
    "customer_name": (
        "customer",
        "name",
        "recipient",
        "full name",
        "contact",
        "contact name",
        "client",
        "consignee",
    ),
    "customer_phone": (
        "phone",
        "mobile",
        "tel",
        "telephone",
        "phone number",
        "mobile number",
        "cell",
        "contact number",
    ),
    "customer_email": ("email", "e mail", "email address", "mail"),
    # the customer's language (en, fr, de, es, fi or a tag such as fr-CA); empty: the tenant's
    "language": ("lang", "locale", "language code", "customer language", "customer locale"),
    "address_line1": (
        "address",
        "address1",
        "address line 1",
        "street",
        "street address",
        "line 1",
        "addr",
    ),
    "address_line2": (
        "address2",
        "address line 2",
        "line 2",
        "apartment",
        "flat",
        "suite",
        "unit",
        "building",
    ),
    "city": ("town", "locality", "suburb"),
    "postcode": ("zip", "zip code", "postal code", "post code", "zip postal code", "postal"),
    "region": ("state", "county", "province", "state province"),
    "country": ("country code",),
    "lat": ("latitude",),
    "lng": ("lon", "long", "longitude"),
    "delivery_date": ("delivery date", "date", "delivery day", "day", "due date", "ship date"),
    # the last acceptable day (multi-day planning); not "latest": a window's end
    "latest_date": (
        "deliver by",
        "latest date",
        "latest delivery date",
        "last delivery date",
        "last day",
        "deliver before",
        "by date",
    ),
    "window_start": (
        "from",
        "start",
        "earliest",
        "time from",
        "start time",
        "window from",
        "from time",
    ),
    "window_end": ("to", "until", "end", "latest", "time to", "end time", "window to", "till"),
    "window2_start": ("second window start",),
    "window2_end": ("second window end",),
    "window3_start": (),
    "window3_end": (),
    "window4_start": (),
    "window4_end": (),
    # One column with whole windows: "09:00-12:00", "9am - 12pm; 2pm - 4pm".
    "time_windows": (
        "time window",
        "window",
        "windows",
        "delivery window",
        "time slot",
        "slot",
        "delivery slot",
        "delivery time",
    ),
    "service_minutes": (
        "service",
        "service time",
        "minutes",
        "duration",
        "stop time",
        "stop duration",
    ),
    "weight_kg": ("weight", "kg"),
    "volume_l": ("volume", "litres", "liters"),
    "items": ("quantity", "qty", "parcels", "packages", "pieces", "boxes"),
    "required_skills": ("skills", "skill", "requirements"),
    # The store's own codes on the parcel; several in a cell: "0123456789012; SKU-77".
    "barcodes": (
        "barcode",
        "bar code",
        "bar codes",
        "sku barcode",
        "parcel barcode",
        "parcel barcodes",
        "package barcode",
        "parcel code",
        "parcel codes",
        "ean",
        "upc",
        "gtin",
    ),
    "priority": ("urgency",),
    "notes": (
        "note",
        "instructions",
        "delivery instructions",
        "comments",
        "comment",
        "remarks",
    ),
    # A pickup-and-delivery order: where the parcel is collected first (all optional).
    "pickup_name": ("collect from", "collection name", "sender", "sender name", "pickup"),
    "pickup_phone": ("collection phone", "sender phone"),
    "pickup_email": ("collection email", "sender email"),
    "pickup_address": ("collection address", "sender address", "pickup address line 1"),
    "pickup_city": ("collection city", "sender city"),
    "pickup_postcode": ("collection postcode", "sender postcode", "pickup zip"),
    "pickup_lat": ("pickup latitude", "collection lat"),
    "pickup_lng": ("pickup longitude", "pickup lon", "collection lng"),
    "pickup_window_start": ("pickup from", "collect from time", "pickup start"),
    "pickup_window_end": ("pickup until", "pickup to", "collect until", "pickup end"),
    "pickup_time_windows": ("pickup window", "pickup windows", "collection window"),
    "pickup_service_minutes": ("pickup minutes", "collection minutes"),
    "pickup_notes": ("pickup instructions", "collection notes", "collection instructions"),
}
#: The pickup's columns → its fields in the order input's `pickup` object.
PICKUP_TARGETS = {
    "pickup_name": "name",
    "pickup_phone": "phone",
    "pickup_email": "email",
    "pickup_address": "address_line1",
    "pickup_city": "city",
    "pickup_postcode": "postcode",
    "pickup_lat": "lat",
    "pickup_lng": "lng",
    "pickup_notes": "notes",
}
# "Delivery Address", "Shipping City", "Recipient Phone": the same names behind a prefix.
HEADER_PREFIXES = ("delivery", "shipping", "shipto", "recipient", "customer", "consignee")
NUMERIC_TARGETS = frozenset(
    {"lat", "lng", "weight_kg", "volume_l", "service_minutes", "pickup_lat", "pickup_lng"}
)
EXPORT_COLUMNS = [
    *(t for t in TARGETS if t not in ("time_windows", "pickup_time_windows")),
    "status",
    "id",
]
# Order fields whose errors come from a column of another name.
ERROR_TARGETS = {
    "service_s": "service_minutes",
    "time_windows": "window_start",
    **{f"pickup.{field}": target for target, field in PICKUP_TARGETS.items()},
    "pickup.time_windows": "pickup_window_start",
    "pickup.service_s": "pickup_service_minutes",
}


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", header.lower())


def suggest_mapping(headers: Iterable[str]) -> dict[str, str]:
    """target → column, for the columns whose header names a target. An exact field name
    beats a synonym, a synonym beats a prefixed synonym ("Delivery Postcode"); each
    column is used once."""
    exact: dict[str, str] = {}
    prefixed: dict[str, str] = {}
    for header in headers:
        key = _key(header)
        if not key:
            continue
        exact.setdefault(key, header)
        for prefix in HEADER_PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                prefixed.setdefault(key[len(prefix) :], header)
    passes = (
        (exact, lambda target: (target,)),
        (exact, lambda target: TARGETS[target]),
        # "Customer ID" is not the order's reference.
        (prefixed, lambda target: () if target == "external_id" else TARGETS[target]),
    )
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for lookup, names_of in passes:
        for target in TARGETS:
            if target in mapping:
                continue
            for name in names_of(target):
                header = lookup.get(_key(name))
                if header and header not in used:
                    mapping[target] = header
                    used.add(header)
                    break
    return mapping


# --- reading the file --------------------------------------------------------------------


def _decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16/32 with a BOM (Excel's "Unicode text"), else
    Windows-1252, else Latin-1 (which reads any byte)."""
    if content.startswith(b"PK\x03\x04"):
        raise ValidationError(
            {
                "file": [
                    gettext(
                        "This is a spreadsheet (.xlsx), not CSV: save it as CSV and upload that."
                    )
                ]
            }
        )
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if content.startswith(bom):
            try:
                return content.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ValidationError(
                    {
                        "file": [
                            gettext("This is not readable %(encoding)s text.")
                            % {"encoding": encoding}
                        ]
                    }
                ) from exc
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _reader(text: str, delimiter: str) -> Any:
    # Universal newlines: old Mac exports end lines with a lone CR.
    return csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)


def _sniff_delimiter(text: str) -> str:
    """The separator that splits the header into the most columns and the lines below it
    into the same number (csv.Sniffer guesses wrong on short files and decimal commas)."""
    sample = text[:65_536]
    if len(sample) < len(text):
        sample = sample[: sample.rfind("\n") + 1] or sample
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [row for row in itertools.islice(_reader(sample, delimiter), 100) if row]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:] or rows
        score = (sum(len(row) == width for row in body) / len(body), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _is_sep_hint(row: list[str]) -> bool:
    """Excel's "sep=;" first line, which names the separator."""
    return bool(row) and row[0].strip().lower() == "sep=" and not any(c.strip() for c in row[1:])


def _read(
    text: str, delimiter: str, *, limit: int | None = None
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data rows (the first `limit`), each with the line it starts on
    (quoted values may span lines). Blank lines are skipped but counted."""
    reader = _reader(text, delimiter)
    header: list[str] = []
    rows: list[tuple[int, list[str]]] = []
    line = 1
    for row in reader:
        if header:
            if limit is not None and len(rows) >= limit:
                break
            if any(cell.strip() for cell in row):
                rows.append((line, row))
        elif any(cell.strip() for cell in row) and not _is_sep_hint(row):
            header = [cell.strip() for cell in row]
        line = reader.line_num + 1
    return header, rows


def _delimiter_of(text: str) -> str:
    first_line = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    match = re.fullmatch(r"(?i)sep=(.)", first_line)
    if match and match.group(1) in DELIMITERS:
        return match.group(1)
    return _sniff_delimiter(text)


def csv_headers(csv_import: CsvImport) -> list[str]:
    """The file's column names (blank ones left out: they cannot be chosen)."""
    header, _ = _read(csv_import.content, csv_import.delimiter, limit=0)
    return [name for name in header if name]


def csv_column_examples(csv_import: CsvImport) -> dict[str, str]:
    """column → its first non-empty value, to help choosing the mapping."""
    header, rows = _read(csv_import.content, csv_import.delimiter, limit=SAMPLE_ROWS)
    examples: dict[str, str] = {}
    for _, row in rows:
        for name, value in zip(header, row, strict=False):
            if name and name not in examples and value.strip():
                examples[name] = value.strip()
    return examples


@transaction.atomic
def csv_import_start(*, filename: str, content: bytes | str, user: Any = None) -> CsvImport:
    """Check and store an uploaded CSV, with a suggested column mapping.

    Refuses (field `file`) what is empty, has no orders, is over 5 MB or 10,000 rows, or
    is not text.
    """
    if isinstance(content, str):
        found = re.search("[\ud800-\udfff]", content)
        if found:  # text a caller decoded itself, with a lone surrogate: not encodable
            raise ValidationError({"file": [unstorable_message(found.group())]})
    raw = content.encode() if isinstance(content, str) else content
    if len(raw) > MAX_BYTES:
        raise ValidationError(
            {"file": [gettext("The file is over %(mb)d MB.") % {"mb": MAX_BYTES // (1024 * 1024)}]}
        )
    text = _decode(raw)
    if "\x00" in text:
        raise ValidationError({"file": [gettext("This is not a text file: save it as CSV.")]})
    if not text.strip():
        raise ValidationError({"file": [gettext("The file is empty.")]})
    delimiter = _delimiter_of(text)
    try:
        header, rows = _read(text, delimiter)
    except csv.Error as exc:
        raise ValidationError(
            {"file": [gettext("This is not a readable CSV file: %(why)s.") % {"why": exc}]}
        ) from exc
    names = [name for name in header if name]
    if not names:
        raise ValidationError({"file": [gettext("The first line must name the columns.")]})
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValidationError(
            {
                "file": [
                    gettext("Two columns have the same name: %(names)s.")
                    % {"names": ", ".join(repeated)}
                ]
            }
        )
    if not rows:
        raise ValidationError({"file": [gettext("The file has a header but no orders.")]})
    if len(rows) > MAX_ROWS:
        raise ValidationError(
            {
                "file": [
                    gettext("At most %(most)s orders per file; this one has %(count)s.")
                    % {"most": f"{MAX_ROWS:,}", "count": f"{len(rows):,}"}
                ]
            }
        )
    return CsvImport.objects.create(
        filename=os.path.basename((filename or "").replace("\\", "/"))[:255] or "upload.csv",
        content=text,
        delimiter=delimiter,
        mapping=suggest_mapping(names),
        row_count=len(rows),
        created_by=user if getattr(user, "pk", None) else None,
    )


# --- choosing the columns ----------------------------------------------------------------


def _mapping_errors(
    headers: list[str], mapping: dict[str, str], default_delivery_date: dt.date | None
) -> dict[str, list[str]]:
    problems: list[str] = []
    for target, column in mapping.items():
        if target not in TARGETS:
            problems.append(gettext("'%(name)s' is not an order field.") % {"name": target})
        elif not isinstance(column, str) or column not in headers:
            problems.append(gettext("The file has no column '%(column)s'.") % {"column": column})
    if "customer_name" not in mapping:
        problems.append(gettext("Choose the column with the customer's name."))
    if "address_line1" not in mapping and not {"lat", "lng"} <= set(mapping):
        problems.append(gettext("Choose the address column, or the lat and lng columns."))
    for start, end in (*WINDOW_COLUMNS, ("pickup_window_start", "pickup_window_end")):
        if (start in mapping) != (end in mapping):
            problems.append(
                gettext("Choose both %(start)s and %(end)s, or neither.")
                % {"start": start, "end": end}
            )
    errors: dict[str, list[str]] = {"mapping": problems} if problems else {}
    if "delivery_date" not in mapping and default_delivery_date is None:
        errors["default_delivery_date"] = [
            gettext("Choose the date column, or a date for every order.")
        ]
    return errors


@transaction.atomic
def csv_import_set_mapping(
    *,
    csv_import: CsvImport,
    mapping: dict[str, str],
    default_delivery_date: dt.date | None = None,
    keep_undated: bool = False,
) -> CsvImport:
    """Say which column fills which order field (a field mapped to "" is left out), a
    date for rows without one, and whether rows whose date cannot be read are kept as
    orders needing a date (`keep_undated`) rather than refused. Allowed until the file
    is imported; the preview is then due again."""
    # Locked and read again: an import done meanwhile must not be made importable again.
    locked = CsvImport.objects.select_for_update().get(pk=csv_import.pk)
    if locked.status == CsvImport.Status.IMPORTED:
        raise ValidationError({"mapping": [gettext("This file is already imported.")]})
    if not isinstance(mapping, dict):
        raise ValidationError({"mapping": [gettext("Send an object of order field → column.")]})
    mapping = {target: column for target, column in mapping.items() if column}
    errors = _mapping_errors(csv_headers(locked), mapping, default_delivery_date)
    if errors:
        raise ValidationError(errors)
    locked.mapping = mapping
    locked.default_delivery_date = default_delivery_date
    locked.keep_undated = keep_undated
    locked.status = CsvImport.Status.UPLOADED
    locked.save(update_fields=["mapping", "default_delivery_date", "keep_undated", "status"])
    csv_import.mapping, csv_import.status = locked.mapping, locked.status
    csv_import.default_delivery_date = default_delivery_date
    csv_import.keep_undated = keep_undated
    return csv_import


# --- rows into orders --------------------------------------------------------------------


@dataclass
class RowOutcome:
    """One data line: its values by target, the order input made of them, its problems."""

    line: int
    values: dict[str, str]
    data: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)


DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
TIME_WITH_SECONDS = re.compile(r"^(\d{1,2}[:.]\d{2})[:.]00(\s*[apAP]\.?[mM]\.?)?$")


def _time(value: str) -> str:
    """time_of_day, also for spreadsheets' "09:00:00"."""
    match = TIME_WITH_SECONDS.match(value)
    return time_of_day(match.group(1) + (match.group(2) or "") if match else value)


def _order_input(
    values: dict[str, str], csv_import: CsvImport, *, reader: DateReader
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """One row's values (by target) as the order input, and the problems found on the
    way (a window or a number that cannot be read)."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {
        target: value
        for target, value in values.items()
        if target in TARGETS
        and target != "time_windows"
        and target != "service_minutes"
        and target != "barcodes"
        and not target.startswith(("window", "pickup_"))
    }
    if csv_import.delimiter != ",":
        # Where ";" separates the values, "2,5" is two and a half.
        for target in NUMERIC_TARGETS & set(data):
            if DECIMAL_COMMA.match(data[target]):
                data[target] = data[target].replace(",", ".")
    windows = []
    for start, end in WINDOW_COLUMNS:
        if values.get(start) or values.get(end):
            windows.append(
                {"start": _time(values.get(start, "")), "end": _time(values.get(end, ""))}
            )
    for part in re.split(r"[;,]", values.get("time_windows", "")):
        if part.strip():
            window = time_window(part)
            if window is None:
                errors["time_windows"] = [f"'{part.strip()}' is not a window like 09:00-12:00."]
            else:
                windows.append(window)
    data["time_windows"] = windows
    if "barcodes" in values:
        codes = BARCODE_SEPARATORS.split(values["barcodes"])
        data["barcodes"] = [code.strip() for code in codes if code.strip()]
    minutes = values.get("service_minutes", "")
    if minutes:
        seconds = minutes_as_seconds(minutes)
        if seconds is None:
            errors["service_s"] = [f"'{minutes}' is not a number of minutes."]
        else:
            data["service_s"] = seconds
    data["delivery_date"] = _delivery_date(values.get("delivery_date", ""), csv_import, reader)
    pickup, pickup_errors = _pickup_input(values, csv_import)
    if pickup:
        data["pickup"] = pickup
    errors.update(pickup_errors)
    if values.get("latest_date"):  # read as the delivery date is; unreadable: the schema says so
        day = reader.read(values["latest_date"])
        data["latest_date"] = day.isoformat() if day else values["latest_date"]
    return data, errors


def _pickup_input(
    values: dict[str, str], csv_import: CsvImport
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The row's pickup (the order's `pickup` object), when any pickup column has a value,
    in the windows and minutes the file writes; and the problems of reading them."""
    if not any(values.get(target) for target in TARGETS if target.startswith("pickup_")):
        return {}, {}
    errors: dict[str, list[str]] = {}
    pickup: dict[str, Any] = {
        field: values[target] for target, field in PICKUP_TARGETS.items() if values.get(target)
    }
    if csv_import.delimiter != ",":
        for field in ("lat", "lng"):
            if DECIMAL_COMMA.match(pickup.get(field, "")):
                pickup[field] = pickup[field].replace(",", ".")
    windows = []
    if values.get("pickup_window_start") or values.get("pickup_window_end"):
        windows.append(
            {
                "start": _time(values.get("pickup_window_start", "")),
                "end": _time(values.get("pickup_window_end", "")),
            }
        )
    for part in re.split(r"[;,]", values.get("pickup_time_windows", "")):
        if part.strip():
            window = time_window(part)
            if window is None:
                message = f"'{part.strip()}' is not a window like 09:00-12:00."
                errors["pickup.time_windows"] = [message]
            else:
                windows.append(window)
    pickup["time_windows"] = windows
    minutes = values.get("pickup_service_minutes", "")
    if minutes:
        seconds = minutes_as_seconds(minutes)
        if seconds is None:
            errors["pickup.service_s"] = [f"'{minutes}' is not a number of minutes."]
        else:
            pickup["service_s"] = seconds
    return pickup, errors


def _delivery_date(written: str, csv_import: CsvImport, reader: DateReader) -> str:
    """The row's date in ISO, or the import's date for a row without one; a date that
    cannot be read stays as written, for the schema to refuse, or (`keep_undated`) as an
    UnreadDate: the order needs a date."""
    if not written:
        default = csv_import.default_delivery_date
        return default.isoformat() if default else ""
    day = reader.read(written)
    if day is not None:
        return day.isoformat()
    return UnreadDate(written) if csv_import.keep_undated else written


def _rows(csv_import: CsvImport, *, limit: int | None = None) -> list[RowOutcome]:
    """The data rows (the first `limit`) as order input, with the problems of reading them
    (not yet checked by the order input schema)."""
    header, rows = _read(csv_import.content, csv_import.delimiter, limit=limit)
    index = {name: position for position, name in enumerate(header) if name}
    width = len(header)
    tenant = current_tenant()
    reader = date_reader(locale=tenant.locale, country=tenant.country)
    outcomes: list[RowOutcome] = []
    for line, row in rows:
        values = {
            target: _undefuse(row[index[column]].strip()) if index[column] < len(row) else ""
            for target, column in csv_import.mapping.items()
            if column in index
        }
        data, errors = _order_input(values, csv_import, reader=reader)
        if any(cell.strip() for cell in row[width:]):
            # A separator inside an unquoted value shifts every value after it.
            errors["row"] = [
                gettext(
                    "This line has %(values)d values but the header names %(columns)d columns "
                    "(a '%(separator)s' inside a value without quotes?)."
                )
                % {"values": len(row), "columns": width, "separator": csv_import.delimiter}
            ]
        outcomes.append(RowOutcome(line=line, values=values, data=data, errors=errors))
    return outcomes


def _in_csv_terms(
    errors: dict[str, list[str]], outcome: RowOutcome, *, country: str
) -> dict[str, list[str]]:
    """The schema's messages, where a file is read more liberally than the API."""
    raw_date = outcome.values.get("delivery_date", "")
    if raw_date and "delivery_date" in errors:
        tenant = current_tenant()
        day_first = date_reader(locale=tenant.locale, country=tenant.country).day_first
        # where the year is written first, 01/12/2026 is read only when a number is over 12
        if day_first is None:
            message = gettext("'%(written)s' is not a date: write 2026-12-01.")
        elif day_first:
            message = gettext("'%(written)s' is not a date: write 2026-12-01 or 01/12/2026.")
        else:
            message = gettext("'%(written)s' is not a date: write 2026-12-01 or 12/01/2026.")
        errors = {**errors, "delivery_date": [message % {"written": raw_date}]}
    return errors


def _check(outcomes: list[RowOutcome], *, country: str) -> None:
    """Validate each row as an order; a reference already used by a good row is an error."""
    schema = order_schema(default_country=country)
    seen: dict[str, int] = {}
    for outcome in outcomes:
        clean, errors = schema.clean(outcome.data)
        outcome.errors = _in_csv_terms({**errors, **outcome.errors}, outcome, country=country)
        reference = clean.get("external_id", "")
        if reference and not outcome.errors:
            if reference in seen:
                outcome.errors = {
                    "external_id": [
                        gettext("Same reference as line %(line)s.") % {"line": seen[reference]}
                    ]
                }
            else:
                seen[reference] = outcome.line


@dataclass
class Preview:
    row_count: int
    valid: int
    errors: list[dict[str, Any]]  # every bad line: {"line", "errors": {field: [...]}}
    sample: list[RowOutcome]  # the first SAMPLE_ROWS lines
    warnings: list[str] = field(default_factory=list)

    @property
    def invalid(self) -> int:
        return self.row_count - self.valid


def _require_mapping(csv_import: CsvImport) -> None:
    errors = _mapping_errors(
        csv_headers(csv_import), csv_import.mapping, csv_import.default_delivery_date
    )
    if errors:
        raise ValidationError(errors)


def _warnings(csv_import: CsvImport) -> list[str]:
    """What could make orders twice: the same file imported before, rows without a
    reference (only a reference tells an order already imported)."""
    warnings = []
    earlier = (
        CsvImport.objects.filter(status=CsvImport.Status.IMPORTED, content=csv_import.content)
        .exclude(pk=csv_import.pk)
        .order_by("-imported_at")
        .first()
    )
    if earlier is not None:
        warnings.append(
            gettext(
                "This file was imported before (%(name)s, %(when)s): rows with a "
                "reference will be skipped, rows without one created again."
            )
            % {
                "name": earlier.filename,
                "when": f"{timezone.localtime(earlier.imported_at):%Y-%m-%d %H:%M}",
            }
        )
    if "external_id" not in csv_import.mapping:
        warnings.append(
            gettext(
                "No reference column: if this file is imported again, its orders will be "
                "created again."
            )
        )
    return warnings


def csv_import_preview(*, csv_import: CsvImport) -> Preview:
    """Check every row with the chosen columns; store and return the errors by line."""
    _require_mapping(csv_import)
    outcomes = _rows(csv_import)
    _check(outcomes, country=current_tenant().country)
    errors = [{"line": o.line, "errors": o.errors} for o in outcomes if o.errors]
    # Stored unless the file is imported or its choices changed meanwhile (a conditional
    # update: the instance may be stale).
    stored = (
        CsvImport.objects.filter(
            pk=csv_import.pk,
            mapping=csv_import.mapping,
            default_delivery_date=csv_import.default_delivery_date,
            keep_undated=csv_import.keep_undated,
        )
        .exclude(status=CsvImport.Status.IMPORTED)
        .update(
            errors=errors,
            valid_count=len(outcomes) - len(errors),
            status=CsvImport.Status.PREVIEWED,
        )
    )
    if stored:
        csv_import.errors, csv_import.valid_count = errors, len(outcomes) - len(errors)
        csv_import.status = CsvImport.Status.PREVIEWED
    valid = len(outcomes) - len(errors)
    return Preview(
        len(outcomes), valid, errors, outcomes[:SAMPLE_ROWS], warnings=_warnings(csv_import)
    )


def csv_import_last_preview(*, csv_import: CsvImport) -> Preview:
    """The stored result of the last preview, with the first rows read again (cheap: a
    page view does not check 10,000 rows again)."""
    sample = _rows(csv_import, limit=SAMPLE_ROWS)
    errors_by_line = {e["line"]: e["errors"] for e in csv_import.errors}
    for outcome in sample:
        outcome.errors = errors_by_line.get(outcome.line, {})
    return Preview(
        csv_import.row_count,
        csv_import.valid_count,
        csv_import.errors,
        sample,
        warnings=_warnings(csv_import),
    )


# --- importing ---------------------------------------------------------------------------


@dataclass
class CommitResult:
    """The import, and on the first commit what became of each line: `created`,
    `exists` (same reference imported before) or `invalid`, with the order id."""

    csv_import: CsvImport
    lines: list[dict[str, Any]] | None
    replayed: bool = False


def csv_import_commit(*, csv_import: CsvImport, actor: str | None = None) -> CommitResult:
    """Create the orders of the good rows, after a preview. Committing again changes
    nothing and answers the stored counts and bad lines (`replayed`). The orders' history
    names `actor` (default: who makes the request)."""
    with transaction.atomic():
        csv_import = CsvImport.objects.select_for_update().get(pk=csv_import.pk)
        if csv_import.status == CsvImport.Status.IMPORTED:
            return CommitResult(csv_import, None, replayed=True)
        if csv_import.status != CsvImport.Status.PREVIEWED:
            raise ValidationError({"status": [gettext("Look at the preview before importing.")]})
        outcomes = _rows(csv_import)
        country = current_tenant().country
        readable = [o for o in outcomes if not o.errors]
        # orders_create validates again (the rows are read afresh) and skips references
        # it has already seen in this file or imported before.
        results = orders_create([o.data for o in readable], source=Order.Source.CSV, actor=actor)
        accepted: dict[str, int] = {}
        lines: dict[int, dict[str, Any]] = {
            o.line: {"line": o.line, "status": "invalid", "id": None, "errors": o.errors}
            for o in outcomes
            if o.errors
        }
        for outcome, result in zip(readable, results, strict=True):
            reference = str(outcome.data.get("external_id") or "").strip()
            errors = _in_csv_terms(result.errors, outcome, country=country)
            if result.status == "invalid" and set(errors) == {"external_id"}:
                if reference in accepted:
                    errors = {
                        "external_id": [
                            gettext("Same reference as line %(line)s.")
                            % {"line": accepted[reference]}
                        ]
                    }
            elif result.status != "invalid" and reference:
                accepted.setdefault(reference, outcome.line)
            lines[outcome.line] = {
                "line": outcome.line,
                "status": result.status,
                "id": result.id,
                "errors": errors,
            }
        ordered = [lines[line] for line in sorted(lines)]
        csv_import.errors = [
            {"line": r["line"], "errors": r["errors"]} for r in ordered if r["status"] == "invalid"
        ]
        csv_import.created_count = sum(r["status"] == "created" for r in ordered)
        csv_import.existing_count = sum(r["status"] == "exists" for r in ordered)
        csv_import.valid_count = csv_import.created_count + csv_import.existing_count
        csv_import.status = CsvImport.Status.IMPORTED
        csv_import.imported_at = timezone.now()
        csv_import.save()
    return CommitResult(csv_import, ordered)


def csv_imports_purge(*, older_than: dt.timedelta = dt.timedelta(days=30)) -> int:
    """Forget uploaded files older than `older_than` (they hold customers' details);
    returns how many. The orders they created stay. Runs in the current tenant schema."""
    deleted, _ = CsvImport.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted


# --- export ------------------------------------------------------------------------------

FORMULA_START = re.compile(r"^(=|@|\t|\r|[+-](?![\d. ]))")


def defuse(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe (CSV
    injection); the importer takes it off again. Phone numbers like +44… are left alone."""
    if isinstance(value, str) and FORMULA_START.match(value):
        return "'" + value
    return value


def _undefuse(value: str) -> str:
    return value[1:] if value.startswith("'") and FORMULA_START.match(value[1:]) else value


def _export_row(order: Order) -> list[Any]:
    pair = getattr(order, "pair_as_delivery", None)  # collected first: the pickup's columns
    values: dict[str, Any] = {
        **_pickup_columns(pair.pickup if pair else None),
        **{name: getattr(order, name) for name in TARGETS if hasattr(order, name)},
        "lat": "" if order.lat is None else order.lat,
        "lng": "" if order.lng is None else order.lng,
        "service_minutes": f"{order.service_s / 60:g}",
        "required_skills": ", ".join(order.required_skills),
        "barcodes": "; ".join(order.barcodes),
        "status": order.status,
        "id": order.pk,
    }
    windows = list(order.time_windows)
    for number, (start, end) in enumerate(WINDOW_COLUMNS):
        window = windows[number] if number < len(windows) else {"start": "", "end": ""}
        values[start], values[end] = window["start"], window["end"]
    return [values[column] for column in EXPORT_COLUMNS]


def _pickup_columns(pickup: Order | None) -> dict[str, Any]:
    """A delivery's pickup in the import's pickup columns (empty without one)."""
    columns = [t for t in EXPORT_COLUMNS if t.startswith("pickup_")]
    if pickup is None:
        return dict.fromkeys(columns, "")
    fields = {"name": "customer_name", "phone": "customer_phone", "email": "customer_email"}
    values = {
        target: getattr(pickup, fields.get(field, field))
        for target, field in PICKUP_TARGETS.items()
    }
    values["pickup_lat"] = "" if pickup.lat is None else pickup.lat
    values["pickup_lng"] = "" if pickup.lng is None else pickup.lng
    first = pickup.time_windows[0] if pickup.time_windows else {"start": "", "end": ""}
    values["pickup_window_start"], values["pickup_window_end"] = first["start"], first["end"]
    values["pickup_service_minutes"] = f"{pickup.service_s / 60:g}"
    return values


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Rows as CSV text, a line at a time (for streaming), every cell defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for values in rows:
        writer.writerow([defuse(value) for value in values])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def orders_csv(orders: QuerySet[Order]) -> Iterator[str]:
    """The orders as CSV text, a line at a time (for streaming), in the columns the
    importer suggests back (`status` and `id` are for reading only)."""
    yield from csv_lines([EXPORT_COLUMNS])
    # a pickup is written on its delivery's line (the pickup columns), not a line of its own
    orders = orders.exclude(kind=Order.Kind.PICKUP).select_related("pair_as_delivery__pickup")
    yield from csv_lines(_export_row(order) for order in orders.iterator(chunk_size=2000))


def orders_export_recorded(orders: QuerySet[Order], filters: dict) -> None:
    """An export of customers' data is an audited action: who, how many, which filters."""
    record(
        "orders.exported",
        target=f"{orders.count()} orders",
        filters={k: v for k, v in filters.items() if k != "page"},
    )
