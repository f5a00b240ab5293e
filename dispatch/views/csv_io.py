"""The CSV import flow in the dashboard (upload → columns → preview → import) and export."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.decorators import dispatcher_required
from config.forms import flash_service_errors, form_add_service_errors
from dispatch.api.csv_io import csv_download
from dispatch.models import CsvImport
from dispatch.selectors.orders import OrderFilter, orders_list
from dispatch.services import csv_io

TARGET_LABELS = {
    "external_id": "Reference",
    "customer_name": "Customer name",
    "customer_phone": "Phone",
    "customer_email": "Email",
    "address_line1": "Address",
    "address_line2": "Address line 2",
    "city": "City",
    "postcode": "Postcode",
    "region": "Region / state",
    "country": "Country",
    "lat": "Latitude",
    "lng": "Longitude",
    "delivery_date": "Delivery date",
    "window_start": "Window from",
    "window_end": "Window until",
    "window2_start": "Second window from",
    "window2_end": "Second window until",
    "service_minutes": "Minutes at the door",
    "weight_kg": "Weight (kg)",
    "volume_l": "Volume (l)",
    "items": "Items",
    "required_skills": "Required skills",
    "priority": "Priority",
    "notes": "Notes",
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file", widget=forms.ClearableFileInput({"accept": ".csv,text/csv"})
    )


def mapping_form(headers: list[str], data=None, initial=None) -> forms.Form:
    """A select per order field listing the file's columns."""
    choices = [("", "— not in the file —"), *((h, h) for h in headers)]
    fields = {
        target: forms.ChoiceField(label=TARGET_LABELS[target], choices=choices, required=False)
        for target in csv_io.TARGETS
    }
    fields["default_delivery_date"] = forms.DateField(
        label="Date for rows without one",
        required=False,
        widget=forms.DateInput({"type": "date"}),
    )
    form_class = type("MappingForm", (forms.Form,), fields)
    return form_class(data=data, initial=initial)


@dispatcher_required
def csv_import_view(request: HttpRequest) -> HttpResponse:
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
    """Choose the columns; after that, the preview with every bad line; or the result."""
    csv_import = get_object_or_404(CsvImport, pk=import_id)
    headers = csv_io.csv_headers(csv_import)
    initial = {**csv_import.mapping, "default_delivery_date": csv_import.default_delivery_date}
    form = mapping_form(headers, request.POST or None, initial)
    preview = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        default_date: dt.date | None = data.pop("default_delivery_date")
        try:
            csv_io.csv_import_set_mapping(
                csv_import=csv_import, mapping=data, default_delivery_date=default_date
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            csv_io.csv_import_preview(csv_import=csv_import)
            return redirect("dashboard:csv-import-detail", import_id=csv_import.pk)
    elif csv_import.status == CsvImport.Status.PREVIEWED:
        # The columns were confirmed: show every row as it will be read.
        preview = csv_io.csv_import_preview(csv_import=csv_import)
    return render(
        request,
        "dispatch/csv_detail.html",
        {
            "csv_import": csv_import,
            "form": form,
            "preview": preview,
            "headers": headers,
            "labels": TARGET_LABELS,
        },
    )


@dispatcher_required
@require_POST
def csv_import_commit_view(request: HttpRequest, import_id: int) -> HttpResponse:
    csv_import = get_object_or_404(CsvImport, pk=import_id)
    try:
        csv_import = csv_io.csv_import_commit(
            csv_import=csv_import, actor=f"user:{request.user.email}"
        )
    except ValidationError as exc:
        flash_service_errors(request, exc)
    else:
        messages.success(
            request,
            f"{csv_import.created_count} orders imported"
            + (f", {csv_import.existing_count} already known" if csv_import.existing_count else "")
            + (f", {len(csv_import.errors)} lines skipped" if csv_import.errors else "")
            + ".",
        )
    return redirect("dashboard:csv-import-detail", import_id=csv_import.pk)


@dispatcher_required
def orders_export_view(request: HttpRequest) -> HttpResponse:
    """The order table's current filters, as a CSV download."""
    filters = OrderFilter(request.GET, queryset=orders_list())
    orders = filters.qs if filters.is_valid() else orders_list().none()
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return csv_download(
        csv_io.orders_csv(orders.order_by("delivery_date", "id")), name=f"orders-{stamp}.csv"
    )
