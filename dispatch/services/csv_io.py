"""CSV in and out: upload → map columns → preview with per-line errors → import; export.

Rows are validated by the same order_clean as the API, so a CSV order and an API order
obey the same rules. Bad rows are reported by their line in the file (the header is line
1) and never stop the good rows; importing twice creates nothing twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from dispatch.models import CsvImport, Order
from dispatch.services.orders import order_clean, orders_create
from dispatch.services.parsing import calendar_date, time_of_day
from tenants.selectors import current_tenant

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
SAMPLE_ROWS = 20

# The columns a CSV can fill, in the order of the export, with the header names people use.
TARGETS: dict[str, tuple[str, ...]] = {
    "external_id": ("external id", "order id", "order", "order number", "reference", "ref", "id"),
    "customer_name": ("customer name", "customer", "name", "recipient", "full name", "contact"),
    "customer_phone": ("customer phone", "phone", "mobile", "telephone", "tel", "phone number"),
    "customer_email": ("customer email", "email", "e mail", "email address"),
    "address_line1": ("address line1", "address", "address1", "address 1", "street", "line 1"),
    "address_line2": ("address line2", "address2", "address 2", "line 2", "apartment", "flat"),
    "city": ("city", "town", "locality"),
    "postcode": ("postcode", "zip", "zip code", "postal code", "post code"),
    "region": ("region", "state", "county", "province"),
    "country": ("country", "country code"),
    "lat": ("lat", "latitude"),
    "lng": ("lng", "lon", "long", "longitude"),
    "delivery_date": ("delivery date", "date", "delivery day", "day"),
    "window_start": ("window start", "from", "time from", "earliest", "start"),
    "window_end": ("window end", "to", "until", "time to", "latest", "end"),
    "window2_start": ("window2 start", "second window start"),
    "window2_end": ("window2 end", "second window end"),
    "service_minutes": ("service minutes", "service time", "minutes", "service"),
    "weight_kg": ("weight kg", "weight", "kg"),
    "volume_l": ("volume l", "volume", "litres", "liters"),
    "items": ("items", "quantity", "qty", "parcels", "packages"),
    "required_skills": ("required skills", "skills"),
    "priority": ("priority",),
    "notes": ("notes", "note", "instructions", "delivery instructions", "comments"),
}
EXPORT_COLUMNS = [*TARGETS, "status", "id"]


def _normalise_header(header: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", header.lower()).split())


def suggest_mapping(headers: Iterable[str]) -> dict[str, str]:
    """target → column, for the columns whose header names a target (first match wins)."""
    by_name = {}
    for header in headers:
        by_name.setdefault(_normalise_header(header), header)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for target, names in TARGETS.items():
        for name in (_normalise_header(target), *names):
            header = by_name.get(name)
            if header and header not in used:
                mapping[target] = header
                used.add(header)
                break
    return mapping


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read(text: str, delimiter: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data rows with the line each starts on (quoted fields may span
    lines). Blank rows are skipped."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] = []
    rows: list[tuple[int, list[str]]] = []
    line = 1
    for row in reader:
        if header and any(cell.strip() for cell in row):
            rows.append((line, row))
        elif not header:
            header = [cell.strip() for cell in row]
        line = reader.line_num + 1
    return header, rows


def csv_import_start(*, filename: str, content: bytes, user: Any = None) -> CsvImport:
    """Check and store an uploaded CSV, with a suggested column mapping."""
    if len(content) > MAX_BYTES:
        raise ValidationError({"file": [f"The file is over {MAX_BYTES // (1024 * 1024)} MB."]})
    text = _decode(content)
    if not text.strip():
        raise ValidationError({"file": ["The file is empty."]})
    delimiter = _sniff_delimiter(text)
    try:
        header, rows = _read(text, delimiter)
    except csv.Error as exc:
        raise ValidationError({"file": [f"This is not a readable CSV file: {exc}."]}) from exc
    if not any(header):
        raise ValidationError({"file": ["The first line must name the columns."]})
    if len(set(header)) != len(header):
        raise ValidationError({"file": ["Two columns have the same name."]})
    if not rows:
        raise ValidationError({"file": ["The file has a header but no orders."]})
    if len(rows) > MAX_ROWS:
        raise ValidationError({"file": [f"At most {MAX_ROWS:,} orders per file."]})
    return CsvImport.objects.create(
        filename=(filename or "upload.csv")[:255],
        content=text,
        delimiter=delimiter,
        mapping=suggest_mapping(header),
        row_count=len(rows),
        created_by=user if getattr(user, "pk", None) else None,
    )


def csv_headers(csv_import: CsvImport) -> list[str]:
    return _read(csv_import.content, csv_import.delimiter)[0]


def csv_import_set_mapping(
    *, csv_import: CsvImport, mapping: dict[str, str], default_delivery_date: dt.date | None = None
) -> CsvImport:
    """Say which column fills which order field. Allowed until the import is done."""
    if csv_import.status == CsvImport.Status.IMPORTED:
        raise ValidationError({"mapping": ["This file is already imported."]})
    headers = set(csv_headers(csv_import))
    if not isinstance(mapping, dict):
        raise ValidationError({"mapping": ["Send an object of field → column."]})
    mapping = {target: column for target, column in mapping.items() if column}
    errors: dict[str, list[str]] = {}
    for target, column in mapping.items():
        if target not in TARGETS:
            errors.setdefault("mapping", []).append(f"'{target}' is not an order field.")
        elif column not in headers:
            errors.setdefault("mapping", []).append(f"The file has no column '{column}'.")
    if "customer_name" not in mapping:
        errors.setdefault("mapping", []).append("Choose the column with the customer's name.")
    if "delivery_date" not in mapping and default_delivery_date is None:
        errors["default_delivery_date"] = ["Choose the date column, or a date for every order."]
    if "address_line1" not in mapping and not {"lat", "lng"} <= set(mapping):
        errors.setdefault("mapping", []).append("Choose the address column, or lat and lng.")
    if errors:
        raise ValidationError(errors)
    csv_import.mapping = mapping
    csv_import.default_delivery_date = default_delivery_date
    csv_import.status = CsvImport.Status.UPLOADED
    csv_import.save(update_fields=["mapping", "default_delivery_date", "status"])
    return csv_import


@dataclass
class RowOutcome:
    line: int
    data: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)


def _rows(csv_import: CsvImport) -> list[RowOutcome]:
    """Every data row as order input, validated; duplicates of a reference are errors."""
    header, rows = _read(csv_import.content, csv_import.delimiter)
    index = {name: position for position, name in enumerate(header)}
    tenant = current_tenant()
    month_first = tenant.country == "US"
    outcomes: list[RowOutcome] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        values = {
            target: _undefuse(row[index[column]].strip()) if index[column] < len(row) else ""
            for target, column in csv_import.mapping.items()
        }
        data: dict[str, Any] = {
            k: v for k, v in values.items() if k in TARGETS and not k.startswith("window")
        }
        data.pop("service_minutes", None)
        windows = []
        for start, end in (("window_start", "window_end"), ("window2_start", "window2_end")):
            if values.get(start) or values.get(end):
                windows.append(
                    {
                        "start": time_of_day(values.get(start, "")),
                        "end": time_of_day(values.get(end, "")),
                    }
                )
        data["time_windows"] = windows
        if values.get("service_minutes"):
            try:
                data["service_s"] = round(float(values["service_minutes"]) * 60)
            except ValueError:
                data["service_s"] = values["service_minutes"]
        date = values.get("delivery_date") or ""
        if not date and csv_import.default_delivery_date:
            date = csv_import.default_delivery_date.isoformat()
        data["delivery_date"] = calendar_date(date, month_first=month_first)
        _, errors = order_clean(data, default_country=tenant.country)
        reference = data.get("external_id", "")
        if reference and not errors:
            if reference in seen:
                errors = {"external_id": [f"Same reference as line {seen[reference]}."]}
            else:
                seen[reference] = line
        outcomes.append(RowOutcome(line=line, data=data, errors=errors))
    return outcomes


@dataclass
class Preview:
    row_count: int
    valid: int
    errors: list[dict[str, Any]]
    sample: list[dict[str, Any]]


def csv_import_preview(*, csv_import: CsvImport) -> Preview:
    """Validate every row with the chosen mapping; store and return the errors by line."""
    if not csv_import.mapping:
        raise ValidationError({"mapping": ["Choose the columns first."]})
    outcomes = _rows(csv_import)
    errors = [{"line": o.line, "errors": o.errors} for o in outcomes if o.errors]
    if csv_import.status != CsvImport.Status.IMPORTED:
        csv_import.errors = errors
        csv_import.valid_count = len(outcomes) - len(errors)
        csv_import.status = CsvImport.Status.PREVIEWED
        csv_import.save(update_fields=["errors", "valid_count", "status"])
    sample = [{"line": o.line, **o.data} for o in outcomes[:SAMPLE_ROWS]]
    return Preview(len(outcomes), len(outcomes) - len(errors), errors, sample)


def csv_import_commit(*, csv_import: CsvImport, actor: str) -> CsvImport:
    """Create the orders of the good rows. Committing again returns the first result."""
    with transaction.atomic():
        csv_import = CsvImport.objects.select_for_update().get(pk=csv_import.pk)
        if csv_import.status == CsvImport.Status.IMPORTED:
            return csv_import
        if csv_import.status != CsvImport.Status.PREVIEWED:
            raise ValidationError({"status": ["Look at the preview before importing."]})
        outcomes = _rows(csv_import)
        good = [o for o in outcomes if not o.errors]
        results = orders_create([o.data for o in good], source=Order.Source.CSV, actor=actor)
        errors = [{"line": o.line, "errors": o.errors} for o in outcomes if o.errors]
        for outcome, result in zip(good, results, strict=True):
            if result.status == "invalid":
                errors.append({"line": outcome.line, "errors": result.errors})
        csv_import.errors = sorted(errors, key=lambda e: e["line"])
        csv_import.created_count = sum(r.status == "created" for r in results)
        csv_import.existing_count = sum(r.status == "exists" for r in results)
        csv_import.status = CsvImport.Status.IMPORTED
        csv_import.imported_at = timezone.now()
        csv_import.save()
    return csv_import


FORMULA_START = re.compile(r"^(=|@|\t|\r|[+-](?![\d. ]))")


def _defuse(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe (CSV
    injection); the importer takes it off again. Phone numbers like +44… are left alone."""
    if isinstance(value, str) and FORMULA_START.match(value):
        return "'" + value
    return value


def _undefuse(value: str) -> str:
    return value[1:] if value.startswith("'") and FORMULA_START.match(value[1:]) else value


def _export_row(order: Order) -> list[Any]:
    windows = order.time_windows + [{"start": "", "end": ""}] * 2
    values = {
        **{name: getattr(order, name) for name in TARGETS if hasattr(order, name)},
        "lat": "" if order.lat is None else order.lat,
        "lng": "" if order.lng is None else order.lng,
        "window_start": windows[0]["start"],
        "window_end": windows[0]["end"],
        "window2_start": windows[1]["start"],
        "window2_end": windows[1]["end"],
        "service_minutes": f"{order.service_s / 60:g}",
        "required_skills": ", ".join(order.required_skills),
        "status": order.status,
        "id": order.pk,
    }
    return [_defuse(values[column]) for column in EXPORT_COLUMNS]


def orders_csv(orders: QuerySet[Order]) -> Iterator[str]:
    """The orders as CSV text, a line at a time (for streaming), in the importer's format."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(EXPORT_COLUMNS)
    for order in orders.iterator(chunk_size=2000):
        yield line(_export_row(order))
