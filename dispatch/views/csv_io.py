"""The CSV import flow in the dashboard (upload → columns → preview → import) and export."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.decorators import dispatcher_required
from core.forms import flash_service_errors, form_add_service_errors
from dispatch.api.views.csv_io import csv_download, export_name
from dispatch.models import CsvImport
from dispatch.selectors.locations import address_check, tenant_address_region
from dispatch.selectors.orders import OrderFilter, orders_list
from dispatch.services import csv_io
from dispatch.services.order_input import UnreadDate
from tenants.selectors import current_tenant

TARGET_LABELS = {
    "external_id": _("Reference"),
    "customer_name": _("Customer name"),
    "customer_phone": _("Phone"),
    "customer_email": _("Email"),
    "language": _("Language"),
    "address_line1": _("Address"),
    "address_line2": _("Address line 2"),
    "city": _("City"),
    "postcode": _("Postcode"),
    "region": _("Region / state"),
    "country": _("Country"),
    "lat": _("Latitude"),
    "lng": _("Longitude"),
    "delivery_date": _("Delivery date"),
    "latest_date": _("Deliver by (last acceptable day)"),
    "window_start": _("Window from"),
    "window_end": _("Window until"),
    "window2_start": _("Second window from"),
    "window2_end": _("Second window until"),
    "window3_start": _("Third window from"),
    "window3_end": _("Third window until"),
    "window4_start": _("Fourth window from"),
    "window4_end": _("Fourth window until"),
    "time_windows": _("Time windows in one column"),
    "service_minutes": _("Minutes at the door"),
    "weight_kg": _("Weight (kg)"),
    "volume_l": _("Volume (l)"),
    "items": _("Items"),
    "required_skills": _("Required skills"),
    "barcodes": _("Parcel barcodes"),
    "priority": _("Priority"),
    "notes": _("Notes"),
    "pickup_name": _("Collect from (name)"),
    "pickup_phone": _("Pickup phone"),
    "pickup_email": _("Pickup email"),
    "pickup_address": _("Pickup address"),
    "pickup_city": _("Pickup city"),
    "pickup_postcode": _("Pickup postcode"),
    "pickup_lat": _("Pickup latitude"),
    "pickup_lng": _("Pickup longitude"),
    "pickup_window_start": _("Pickup window from"),
    "pickup_window_end": _("Pickup window until"),
    "pickup_time_windows": _("Pickup windows in one column"),
    "pickup_service_minutes": _("Minutes at the pickup"),
    "pickup_notes": _("Pickup notes"),
}
# Names of the fields an error can be about, in the dispatcher's words.
ERROR_LABELS = {
    **TARGET_LABELS,
    "time_windows": _("Time window"),
    "service_s": _("Minutes at the door"),
    "row": _("Line"),
    "non_field_errors": _("Order"),
    **{
        error: TARGET_LABELS[target]
        for error, target in csv_io.ERROR_TARGETS.items()
        if error.startswith("pickup.")
    },
    "pickup.non_field_errors": _("Pickup"),
}


# The mapping form in fieldsets; the last two folded away unless they are in use.
FIELD_GROUPS = (
    (
        _("Order and customer"),
        ("external_id", "customer_name", "customer_phone", "customer_email", "language"),
    ),
    (
        _("Where"),
        ("address_line1", "address_line2", "city", "postcode", "region", "country", "lat", "lng"),
    ),
    (
        _("When"),
        (
            "delivery_date",
            "default_delivery_date",
            "keep_undated",
            "latest_date",
            "window_start",
            "window_end",
            "time_windows",
        ),
    ),
    (
        _("What and how long"),
        (
            "weight_kg",
            "volume_l",
            "items",
            "required_skills",
            "barcodes",
            "service_minutes",
            "priority",
            "notes",
        ),
    ),
    (
        _("Collect first from (a pickup-and-delivery order)"),
        tuple(t for t in csv_io.TARGETS if t.startswith("pickup_")),
    ),
    (
        _("More time windows"),
        (
            "window2_start",
            "window2_end",
            "window3_start",
            "window3_end",
            "window4_start",
            "window4_end",
        ),
    ),
)


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("Up to 5 MB and 10,000 orders; comma, semicolon or tab separated."),
        widget=forms.ClearableFileInput({"accept": ".csv,.txt,text/csv"}),
    )


def mapping_form(
    headers: list[str], examples: dict[str, str], data: Any = None, initial: Any = None
) -> forms.Form:
    """A select per order field listing the file's columns (with an example value)."""

    def label(header: str) -> str:
        example = examples.get(header, "")
        if len(example) > 30:
            example = example[:29] + "…"
        if not example:
            return header
        return gettext("%(header)s (e.g. %(example)s)") % {"header": header, "example": example}

    choices = [("", gettext("— not in the file —")), *((h, label(h)) for h in headers)]
    fields: dict[str, forms.Field] = {
        target: forms.ChoiceField(label=TARGET_LABELS[target], choices=choices, required=False)
        for target in csv_io.TARGETS
    }
    fields["time_windows"].help_text = _("Cells like 09:00-12:00 or 9am-12pm; 14:00-16:00.")
    fields["barcodes"].help_text = _("Several codes in a cell separated by ; or |.")
    fields["default_delivery_date"] = forms.DateField(
        label=_("Date for rows without one"),
        required=False,
        widget=forms.DateInput({"type": "date"}),
    )
    fields["keep_undated"] = forms.BooleanField(
        label=_("Keep rows whose date cannot be read, as orders needing a date"),
        required=False,
        help_text=_(
            "They wait on the orders page until you give them a date; "
            "unticked, such rows are bad lines."
        ),
    )
    form_class = type("MappingForm", (forms.Form,), fields)
    return form_class(data=data, initial=initial, label_suffix="")


def _fieldsets(form: forms.Form, mapping: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "legend": legend,
            # a target the importer does not read (yet) has no field
            "fields": [form[name] for name in names if name in form.fields],
            "folded": index >= len(FIELD_GROUPS) - 2 and not (set(names) & set(mapping)),
        }
        for index, (legend, names) in enumerate(FIELD_GROUPS)
    ]


def _problems(errors: dict[str, list[str]], mapping: dict[str, str]) -> list[dict[str, Any]]:
    """A line's errors as (what, which column, messages), for the tables."""
    problems = []
    for name, texts in errors.items():
        target = csv_io.ERROR_TARGETS.get(name, name)
        column = mapping.get(target) or (
            mapping.get("time_windows") if name == "time_windows" else ""
        )
        problems.append(
            {
                "field": name,
                "label": ERROR_LABELS.get(name, name),
                "column": column,
                "messages": texts,
            }
        )
    return problems


def _preview_table(preview: csv_io.Preview, mapping: dict[str, str]) -> dict[str, Any]:
    """The first rows' values in the mapped columns (dates and windows as they are read)."""
    windows = [t for t in mapping if t.startswith("window") or t == "time_windows"]
    columns = [t for t in csv_io.TARGETS if t in mapping and t not in windows]
    if windows:
        at = columns.index("delivery_date") + 1 if "delivery_date" in columns else len(columns)
        columns.insert(at, "time_windows")
    rows = []
    for outcome in preview.sample:
        cells = []
        for target in columns:
            if target == "time_windows":
                value = ", ".join(
                    f"{w.get('start', '')}\u2013{w.get('end', '')}"
                    for w in outcome.data.get("time_windows", [])
                )
            elif target == "delivery_date":
                value = outcome.data.get("delivery_date", "")
                if isinstance(value, UnreadDate):
                    value = gettext("needs a date (%(written)s)") % {"written": value}
            else:
                value = outcome.values.get(target, "")
            cells.append(value)
        rows.append(
            {
                "line": outcome.line,
                "cells": cells,
                "bad": bool(outcome.errors),
                "location": _location_check(outcome),
            }
        )
    labels = [
        ERROR_LABELS["time_windows"] if c == "time_windows" else TARGET_LABELS[c] for c in columns
    ]
    return {"labels": labels, "rows": rows}


def _location_check(outcome: csv_io.RowOutcome) -> dict[str, Any] | None:
    """Where the local geocoder will put the row's order (a good row, local geocoder only):
    with the parts a pick in the review is remembered for."""
    if outcome.errors or settings.GEOCODER != "local":
        return None
    data = outcome.data
    parts = {
        "line1": str(data.get("address_line1") or ""),
        "postcode": str(data.get("postcode") or ""),
        "city": str(data.get("city") or ""),
        "country": str(data.get("country") or current_tenant().country).upper(),
    }
    check = address_check(
        **parts,
        line2=str(data.get("address_line2") or ""),
        region=str(data.get("region") or ""),
        has_coordinates=data.get("lat") not in (None, "") and data.get("lng") not in (None, ""),
        min_confidence=settings.GEOCODER_MIN_CONFIDENCE,
    )
    return {"check": check, **parts}


def _bad_lines(errors: list[dict[str, Any]], mapping: dict[str, str]) -> list[dict[str, Any]]:
    return [{"line": e["line"], "problems": _problems(e["errors"], mapping)} for e in errors]


def _import_message(done: CsvImport) -> str:
    """What an import did, in one sentence per case (a translator sees each whole)."""
    values = {
        "created": done.created_count,
        "known": done.existing_count,
        "skipped": len(done.errors),
    }
    created = done.created_count
    if done.existing_count and done.errors:
        text = ngettext(
            "%(created)d order imported, %(known)d already known, %(skipped)d lines skipped.",
            "%(created)d orders imported, %(known)d already known, %(skipped)d lines skipped.",
            created,
        )
    elif done.existing_count:
        text = ngettext(
            "%(created)d order imported, %(known)d already known.",
            "%(created)d orders imported, %(known)d already known.",
            created,
        )
    elif done.errors:
        text = ngettext(
            "%(created)d order imported, %(skipped)d lines skipped.",
            "%(created)d orders imported, %(skipped)d lines skipped.",
            created,
        )
    else:
        text = ngettext("%(created)d order imported.", "%(created)d orders imported.", created)
    return text % values


@dispatcher_required
def csv_import_view(request: HttpRequest) -> HttpResponse:
    """Step 1: upload a file (and the last files uploaded)."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            csv_import = csv_io.csv_import_start(
                filename=upload.name, content=upload.read(csv_io.MAX_BYTES + 1), user=request.user
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect("dashboard:csv-import-detail", import_id=csv_import.pk)
    recent = CsvImport.objects.order_by("-created_at")[:10]
    return render(request, "dispatch/csv_upload.html", {"form": form, "recent": recent})


@dispatcher_required
def csv_import_detail_view(request: HttpRequest, import_id: int) -> HttpResponse:
    """Step 2: choose the columns; step 3: the preview with every bad line; or the result."""
    csv_import = get_object_or_404(CsvImport, pk=import_id)
    if csv_import.status == CsvImport.Status.IMPORTED:
        return render(
            request,
            "dispatch/csv_result.html",
            {
                "csv_import": csv_import,
                "bad_lines": _bad_lines(csv_import.errors, csv_import.mapping),
            },
        )
    headers = csv_io.csv_headers(csv_import)
    initial = {
        **csv_import.mapping,
        "default_delivery_date": csv_import.default_delivery_date,
        "keep_undated": csv_import.keep_undated,
    }
    form = mapping_form(
        headers, csv_io.csv_column_examples(csv_import), request.POST or None, initial
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        default_date: dt.date | None = data.pop("default_delivery_date")
        keep_undated: bool = data.pop("keep_undated")
        try:
            csv_io.csv_import_set_mapping(
                csv_import=csv_import,
                mapping=data,
                default_delivery_date=default_date,
                keep_undated=keep_undated,
            )
            csv_io.csv_import_preview(csv_import=csv_import)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            url = reverse("dashboard:csv-import-detail", kwargs={"import_id": csv_import.pk})
            return redirect(f"{url}#preview")
    preview = table = bad_lines = None
    if csv_import.status == CsvImport.Status.PREVIEWED and request.method == "GET":
        preview = csv_io.csv_import_last_preview(csv_import=csv_import)
        table = _preview_table(preview, csv_import.mapping)
        bad_lines = _bad_lines(preview.errors, csv_import.mapping)
        if settings.GEOCODER == "local":
            table["locations"] = True
            table["region_problem"] = tenant_address_region()[1]
    return render(
        request,
        "dispatch/csv_detail.html",
        {
            "csv_import": csv_import,
            "form": form,
            "fieldsets": _fieldsets(form, csv_import.mapping),
            "preview": preview,
            "table": table,
            "bad_lines": bad_lines,
            "headers": headers,
        },
    )


@dispatcher_required
@require_POST
def csv_import_commit_view(request: HttpRequest, import_id: int) -> HttpResponse:
    """Step 4: import the good rows (once; the result page after that)."""
    csv_import = get_object_or_404(CsvImport, pk=import_id)
    try:
        result = csv_io.csv_import_commit(csv_import=csv_import)
    except ValidationError as exc:
        flash_service_errors(request, exc)
    else:
        done = result.csv_import
        if not result.replayed:
            messages.success(request, _import_message(done))
    return redirect("dashboard:csv-import-detail", import_id=csv_import.pk)


@dispatcher_required
def orders_export_view(request: HttpRequest) -> HttpResponse:
    """The order table's current filters, as a CSV download (with a BOM, so that Excel
    reads it as UTF-8; the importer skips it)."""
    filters = OrderFilter(request.GET, queryset=orders_list())
    orders = filters.qs if filters.is_valid() else orders_list().none()
    csv_io.orders_export_recorded(orders, request.GET.dict())
    lines = csv_io.orders_csv(orders.order_by("delivery_date", "id"))
    return csv_download(
        itertools.chain(["\ufeff"], lines), name=export_name(request.GET.get("delivery_date"))
    )
