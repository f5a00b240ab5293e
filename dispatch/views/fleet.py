"""Depots, vehicles and drivers pages: one list and one form per kind, same behaviour."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.forms.models import fields_for_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import dispatcher_required
from accounts.models import User
from config.forms import flash_service_errors, form_add_service_errors
from dispatch.models import Depot, Driver, Vehicle
from dispatch.services import fleet as fleet_services


class SkillsField(forms.CharField):
    """Skills typed as "fridge, 2-person"."""

    def prepare_value(self, value: Any) -> str:
        return ", ".join(value) if isinstance(value, list) else (value or "")

    def to_python(self, value: Any) -> list[str]:
        return [part.strip() for part in (value or "").split(",") if part.strip()]


@dataclass(frozen=True)
class Kind:
    noun: str
    plural: str
    model: type[Model]
    fields: list[str]
    columns: list[tuple[str, str]]  # (attribute, heading)
    save: Callable[..., Model]

    def form(self, data: Any = None, instance: Model | None = None) -> forms.Form:
        fields = fields_for_model(self.model, fields=self.fields)
        for name, field in fields.items():
            if name in ("skills",):
                fields[name] = SkillsField(required=False, help_text="Comma separated.")
            elif isinstance(field, forms.TimeField):
                field.widget = forms.TimeInput({"type": "time"}, format="%H:%M")
        if "user" in fields:
            fields["user"].queryset = User.objects.filter(role=User.Role.DRIVER, is_active=True)
        if "phone" in fields:
            fields["phone"] = forms.CharField(required=False, max_length=40, label="Phone")
        for name in ("start_depot", "end_depot"):
            if name in fields:
                fields[name].queryset = Depot.objects.filter(is_active=True)
        form_class = type(f"{self.model.__name__}Form", (forms.Form,), fields)
        initial = {name: getattr(instance, name) for name in self.fields} if instance else None
        return form_class(data=data, initial=initial)


KINDS = {
    "depot": Kind(
        "depot", "depots", Depot,
        ["name", "address_line1", "address_line2", "postcode", "city", "country", "lat", "lng",
         "opens_at", "closes_at"],
        [("name", "Name"), ("address_text", "Address"), ("opens_at", "Opens"),
         ("closes_at", "Closes")],
        fleet_services.depot_save,
    ),
    "vehicle": Kind(
        "vehicle", "vehicles", Vehicle,
        ["name", "start_depot", "end_depot", "capacity_weight_kg", "capacity_volume_l",
         "capacity_items", "skills", "cost_per_km", "cost_per_hour", "fixed_cost", "max_stops",
         "max_route_duration_s"],
        [("name", "Name"), ("start_depot", "Starts at"), ("capacity_weight_kg", "Max kg"),
         ("capacity_volume_l", "Max litres"), ("capacity_items", "Max items"),
         ("skills", "Skills")],
        fleet_services.vehicle_save,
    ),
    "driver": Kind(
        "driver", "drivers", Driver,
        ["name", "phone", "user", "default_vehicle", "shift_start", "shift_end", "break_start",
         "break_duration_s", "skills"],
        [("name", "Name"), ("phone", "Phone"), ("default_vehicle", "Vehicle"),
         ("shift_start", "From"), ("shift_end", "Until"), ("user", "Login")],
        fleet_services.driver_save,
    ),
}  # fmt: skip


def _row(kind: Kind, item: Model) -> list[str]:
    """The table cells of `item`, as text ("—" for nothing)."""
    cells = []
    for attribute, _ in kind.columns:
        value = getattr(item, attribute)
        value = value() if callable(value) else value
        if isinstance(value, list):
            value = ", ".join(value)
        elif hasattr(value, "strftime"):
            value = value.strftime("%H:%M")
        cells.append(str(value) if value not in (None, "") else "—")
    return cells


@dispatcher_required
def fleet_list_view(request: HttpRequest, kind: str) -> HttpResponse:
    spec = KINDS[kind]
    items = spec.model.objects.order_by("-is_active", "name")
    return render(
        request,
        "dispatch/fleet/list.html",
        {
            "kind": spec,
            "rows": [(item, _row(spec, item)) for item in items],
            "headings": [heading for _, heading in spec.columns],
        },
    )


@dispatcher_required
def fleet_form_view(request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
    spec = KINDS[kind]
    instance = get_object_or_404(spec.model, pk=pk) if pk else None
    form = spec.form(request.POST or None, instance)
    if request.method == "POST" and form.is_valid():
        try:
            kwargs = {spec.noun: instance} if instance else {}
            item = spec.save(data=form.cleaned_data, **kwargs)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"{item} saved.")
            return redirect(f"dashboard:{kind}-list")
    return render(
        request, "dispatch/fleet/form.html", {"kind": spec, "form": form, "item": instance}
    )


@dispatcher_required
@require_POST
def fleet_active_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    spec = KINDS[kind]
    item = get_object_or_404(spec.model, pk=pk)
    try:
        fleet_services.fleet_set_active(item=item, is_active=request.POST.get("is_active") == "1")
    except ValidationError as exc:
        flash_service_errors(request, exc)
    else:
        messages.success(request, f"{item} is {'active' if item.is_active else 'deactivated'}.")
    return redirect(f"dashboard:{kind}-list")
