"""Depots, vehicles and drivers pages: a table and a create / edit form for each, and
deactivate / re-activate buttons. The forms only read typed values; the rules are in
dispatch.services.fleet, whose field errors are shown on the form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import dispatcher_required
from accounts.models import User
from core.forms import flash_service_errors, form_add_service_errors
from dispatch.models import Depot, Driver, Vehicle
from dispatch.selectors import fleet as fleet_selectors
from dispatch.services import fleet as fleet_services
from dispatch.services.phones import phone_example
from tenants.selectors import current_tenant

PAGE_SIZE = 100
TIME_WIDGET = {"widget": forms.TimeInput({"type": "time"}, format="%H:%M")}
NO_LIMIT = gettext_lazy("Empty: no limit.")


class SkillsField(forms.CharField):
    """Skills typed as "fridge, 2-person"."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", gettext_lazy("Skills"))
        kwargs.setdefault("help_text", gettext_lazy("Comma separated, e.g. fridge, tail-lift."))
        super().__init__(required=False, max_length=1000, **kwargs)

    def prepare_value(self, value: Any) -> str:
        return ", ".join(value) if isinstance(value, list | tuple) else (value or "")

    def to_python(self, value: Any) -> list[str]:
        return [part.strip() for part in super().to_python(value).split(",") if part.strip()]


class NamedChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Model) -> str:
        if hasattr(obj, "email"):
            return f"{obj.name} ({obj.email})" if obj.name else obj.email
        if getattr(obj, "is_active", True):
            return str(obj)
        return _("%(name)s (deactivated)") % {"name": obj}


class FleetForm(forms.Form):
    """A form whose fields are named like the service's, except for `renamed` ones."""

    renamed: dict[str, str] = {}  # service field → form field

    def __init__(self, *args: Any, item: Model | None = None, **kwargs: Any) -> None:
        if item is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(item)
        super().__init__(*args, **kwargs)

    def initial_from(self, item: Model) -> dict[str, Any]:
        return {name: getattr(item, name) for name in self.base_fields if hasattr(item, name)}

    def to_service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)

    def add_service_errors(self, exc: ValidationError) -> None:
        errors = {self.renamed.get(name, name): msgs for name, msgs in exc.message_dict.items()}
        form_add_service_errors(self, ValidationError(errors))

    def saved_message(self, item: Model) -> str:
        return _("%(name)s saved.") % {"name": item}


def _length(model: type[Model], name: str) -> int:
    """A text field's limit is its model column's, which the services check against."""
    return model._meta.get_field(name).max_length


class DepotForm(FleetForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=_length(Depot, "name"))
    address_line1 = forms.CharField(
        label=gettext_lazy("Address"), required=False, max_length=_length(Depot, "address_line1")
    )
    address_line2 = forms.CharField(
        label=gettext_lazy("Address line 2"),
        required=False,
        max_length=_length(Depot, "address_line2"),
    )
    postcode = forms.CharField(
        label=gettext_lazy("Postcode"), required=False, max_length=_length(Depot, "postcode")
    )
    city = forms.CharField(
        label=gettext_lazy("City"), required=False, max_length=_length(Depot, "city")
    )
    region = forms.CharField(
        label=gettext_lazy("Region or state"), required=False, max_length=_length(Depot, "region")
    )
    country = forms.CharField(
        label=gettext_lazy("Country"),
        required=False,
        max_length=_length(Depot, "country"),
        help_text=gettext_lazy("Two letters, e.g. GB. Empty: your country."),
    )
    lat = forms.FloatField(
        label=gettext_lazy("Latitude"),
        required=False,
        help_text=gettext_lazy("Leave latitude and longitude empty to locate the address."),
    )
    lng = forms.FloatField(label=gettext_lazy("Longitude"), required=False)
    opens_at = forms.TimeField(label=gettext_lazy("Opens at"), initial="07:00", **TIME_WIDGET)
    closes_at = forms.TimeField(label=gettext_lazy("Closes at"), initial="20:00", **TIME_WIDGET)


class VehicleForm(FleetForm):
    renamed = {"max_route_duration_s": "max_route_minutes"}

    name = forms.CharField(label=gettext_lazy("Name"), max_length=_length(Vehicle, "name"))
    start_depot = NamedChoiceField(queryset=Depot.objects.none(), label=gettext_lazy("Starts from"))
    end_depot = NamedChoiceField(
        queryset=Depot.objects.none(),
        label=gettext_lazy("Ends at"),
        required=False,
        empty_label=gettext_lazy("Back at the start depot"),
    )
    capacity_weight_kg = forms.DecimalField(
        label=gettext_lazy("Capacity (kg)"), required=False, help_text=NO_LIMIT
    )
    capacity_volume_l = forms.DecimalField(
        label=gettext_lazy("Capacity (litres)"), required=False, help_text=NO_LIMIT
    )
    capacity_items = forms.IntegerField(
        label=gettext_lazy("Capacity (items)"), required=False, help_text=NO_LIMIT
    )
    skills = SkillsField()
    cost_per_km = forms.DecimalField(label=gettext_lazy("Cost per km"), required=False, initial=0)
    cost_per_hour = forms.DecimalField(
        label=gettext_lazy("Cost per hour"), required=False, initial=0
    )
    fixed_cost = forms.DecimalField(
        label=gettext_lazy("Fixed cost per route"), required=False, initial=0
    )
    max_stops = forms.IntegerField(
        label=gettext_lazy("Most stops per route"), required=False, help_text=NO_LIMIT
    )
    max_route_minutes = forms.IntegerField(
        label=gettext_lazy("Longest route (minutes)"),
        required=False,
        max_value=fleet_services.MAX_ROUTE_DURATION_S // 60,
        help_text=NO_LIMIT,
    )
    energy = forms.ChoiceField(
        label=gettext_lazy("Energy"),
        choices=Vehicle.Energy.choices,
        initial=Vehicle.Energy.DIESEL,
        required=False,  # not sent: unchanged (a new vehicle: diesel)
        help_text=gettext_lazy("The reports turn its distance into fuel and CO2 by it."),
    )
    consumption_per_100km = forms.DecimalField(
        label=gettext_lazy("Consumption per 100 km (litres; kWh if electric)"),
        required=False,
        min_value=0,
        max_digits=Vehicle._meta.get_field("consumption_per_100km").max_digits,
        decimal_places=Vehicle._meta.get_field("consumption_per_100km").decimal_places,
        help_text=gettext_lazy(
            "Litres of diesel or petrol per 100 km, or kWh per 100 km for an electric "
            "vehicle. Empty: a typical van of its energy."
        ),
    )

    def __init__(self, *args: Any, item: Vehicle | None = None, **kwargs: Any) -> None:
        super().__init__(*args, item=item, **kwargs)
        for name in ("start_depot", "end_depot"):
            current = getattr(item, name) if item else None
            self.fields[name].queryset = fleet_selectors.depots_choosable(current=current)

    def initial_from(self, item: Vehicle) -> dict[str, Any]:
        initial = super().initial_from(item)
        seconds = item.max_route_duration_s
        initial["max_route_minutes"] = None if seconds is None else seconds // 60
        return initial

    def to_service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        minutes = data.pop("max_route_minutes")
        data["max_route_duration_s"] = None if minutes is None else minutes * 60
        for name in ("cost_per_km", "cost_per_hour", "fixed_cost"):
            if data[name] is None:
                data[name] = 0
        if not data.get("energy"):
            data.pop("energy", None)
        return data


class DriverForm(FleetForm):
    renamed = {"break_duration_s": "break_minutes"}

    name = forms.CharField(label=gettext_lazy("Name"), max_length=_length(Driver, "name"))
    phone = forms.CharField(
        label=gettext_lazy("Phone"),
        required=False,
        max_length=fleet_services.PHONE_INPUT_LENGTH,
        help_text=gettext_lazy("National numbers are read as in your country."),
        widget=forms.TextInput({"type": "tel", "autocomplete": "off"}),
    )
    user = NamedChoiceField(
        queryset=User.objects.none(),
        label=gettext_lazy("Driver login"),
        required=False,
        empty_label=gettext_lazy("No login"),
        help_text=gettext_lazy(
            "Team members with the driver role; or give them a new sign-in below."
        ),
    )
    # A new sign-in made with the driver (dispatch.services.fleet.driver_create), so the
    # Team page is not a step before this one. Text fields: the service checks them,
    # together with the rest of the form.
    login_email = forms.CharField(
        label=gettext_lazy("New sign-in email"),
        required=False,
        max_length=_length(User, "email"),
        widget=forms.EmailInput({"autocomplete": "off"}),
        help_text=gettext_lazy(
            "Optional: makes them a sign-in for the driver app with this email."
        ),
    )
    login_password = forms.CharField(
        label=gettext_lazy("New sign-in password"),
        required=False,
        strip=False,
        max_length=_length(User, "password"),
        widget=forms.PasswordInput({"autocomplete": "new-password"}),
        help_text=gettext_lazy("At least 10 characters; give it to the driver."),
    )
    default_vehicle = NamedChoiceField(
        queryset=Vehicle.objects.none(),
        label=gettext_lazy("Usual vehicle"),
        required=False,
        empty_label=gettext_lazy("None"),
    )
    shift_start = forms.TimeField(
        label=gettext_lazy("Shift starts"), initial="08:00", **TIME_WIDGET
    )
    shift_end = forms.TimeField(label=gettext_lazy("Shift ends"), initial="17:00", **TIME_WIDGET)
    break_start = forms.TimeField(
        label=gettext_lazy("Break from"),
        required=False,
        help_text=gettext_lazy("Earliest start of the break."),
        **TIME_WIDGET,
    )
    break_minutes = forms.IntegerField(
        label=gettext_lazy("Break (minutes)"),
        required=False,
        min_value=0,
        max_value=fleet_services.MAX_BREAK_DURATION_S // 60,
        initial=0,
    )
    skills = SkillsField()

    def __init__(
        self, *args: Any, item: Driver | None = None, acting_user: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, item=item, **kwargs)
        self.fields["user"].queryset = fleet_selectors.driver_logins_available(driver=item)
        # A new sign-in is an owner's to give (fleet_services.may_give_sign_in): the fields
        # are not shown to anyone else. Sent anyway, they go to the service, which refuses
        # them on the form, rather than being dropped without a word.
        self.sign_in_sent: dict[str, str] = {}
        if not fleet_services.may_give_sign_in(acting_user):
            user_field = self.fields["user"]
            user_field.help_text = _(
                "Team members with the driver role; an owner gives new sign-ins."
            )
            del self.fields["login_email"], self.fields["login_password"]
            self.sign_in_sent = {
                name: value
                for name in ("login_email", "login_password")
                if isinstance(value := self.data.get(name), str) and value
            }
        self.fields["default_vehicle"].queryset = fleet_selectors.vehicles_choosable(
            current=item.default_vehicle if item else None
        )
        example = phone_example(current_tenant().country)
        if example:
            self.fields["phone"].help_text = escape(
                _(
                    "For example %(example)s. Numbers without a country code are read as in "
                    "your country."
                )
                % {"example": example}
            )
        if item is not None and item.user_id is not None and "login_email" in self.fields:
            del self.fields["login_email"], self.fields["login_password"]

    def initial_from(self, item: Driver) -> dict[str, Any]:
        initial = super().initial_from(item)
        initial["break_minutes"] = item.break_duration_s // 60
        return initial

    def to_service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["break_duration_s"] = (data.pop("break_minutes") or 0) * 60
        data.update(self.sign_in_sent)
        return data

    def saved_message(self, item: Driver) -> str:
        if self.cleaned_data.get("login_email") and item.user_id is not None:
            return _("%(name)s saved; they sign in as %(email)s.") % {
                "name": item,
                "email": item.user.email,
            }
        return super().saved_message(item)


@dataclass(frozen=True)
class FleetKind:
    """What differs between the depot, vehicle and driver pages."""

    noun: str
    plural: str
    model: type[Model]
    form: type[FleetForm]
    items: Callable[[], QuerySet]
    filters: type[fleet_selectors.FleetFilter]
    create: Callable[..., Model]
    update: Callable[..., Model]
    deactivate: Callable[..., Model]
    #: The form and the services are told who acts (request.user) as `acting_user`.
    asks_who_acts: bool = False
    #: The page's words, whole (a noun alone does not make "New depot" in every language).
    one: str = ""  # "Depot", before an item's name in its page's heading
    title: str = ""  # "Depots"
    new: str = ""  # "New depot"
    search_label: str = ""  # "Search depots"
    back: str = ""  # "Back to depots"


KINDS = {
    "depot": FleetKind(
        "depot",
        "depots",
        Depot,
        DepotForm,
        fleet_selectors.depots_all,
        fleet_selectors.DepotFilter,
        fleet_services.depot_create,
        fleet_services.depot_update,
        fleet_services.depot_deactivate,
        one=gettext_lazy("Depot"),
        title=gettext_lazy("Depots"),
        new=gettext_lazy("New depot"),
        search_label=gettext_lazy("Search depots"),
        back=gettext_lazy("Back to depots"),
    ),
    "vehicle": FleetKind(
        "vehicle",
        "vehicles",
        Vehicle,
        VehicleForm,
        fleet_selectors.vehicles_all,
        fleet_selectors.VehicleFilter,
        fleet_services.vehicle_create,
        fleet_services.vehicle_update,
        fleet_services.vehicle_deactivate,
        one=gettext_lazy("Vehicle"),
        title=gettext_lazy("Vehicles"),
        new=gettext_lazy("New vehicle"),
        search_label=gettext_lazy("Search vehicles"),
        back=gettext_lazy("Back to vehicles"),
    ),
    "driver": FleetKind(
        "driver",
        "drivers",
        Driver,
        DriverForm,
        fleet_selectors.drivers_all,
        fleet_selectors.DriverFilter,
        fleet_services.driver_create,
        fleet_services.driver_update,
        fleet_services.driver_deactivate,
        asks_who_acts=True,
        one=gettext_lazy("Driver"),
        title=gettext_lazy("Drivers"),
        new=gettext_lazy("New driver"),
        search_label=gettext_lazy("Search drivers"),
        back=gettext_lazy("Back to drivers"),
    ),
}


@dispatcher_required
def fleet_list_view(request: HttpRequest, kind: str) -> HttpResponse:
    """The table of depots, vehicles or drivers, active first; filtered like the API's
    lists (`search` on the name, `active`)."""
    spec = KINDS[kind]
    filters = spec.filters(request.GET, queryset=spec.items())
    items = filters.qs if filters.is_valid() else spec.items().none()
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    search = filters.form.cleaned_data.get("search", "") if filters.is_valid() else ""
    context: dict[str, Any] = {"kind": spec, "page": page, "search": search, "filters": filters}
    if kind == "depot":
        context["depot_points"] = fleet_selectors.depot_map_points()
        # Leaflet's "reset view" would zoom out to the whole world: the map fits the depots.
        context["map_settings"] = {"RESET_VIEW": False}
    return render(request, f"dispatch/fleet/{kind}_list.html", context)


@dispatcher_required
def fleet_form_view(request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
    """Create (no `pk`) or edit one item; the service's refusals show on the form."""
    spec = KINDS[kind]
    item = get_object_or_404(spec.items(), pk=pk) if pk is not None else None
    who = {"acting_user": request.user} if spec.asks_who_acts else {}
    form = spec.form(request.POST or None, item=item, **who)
    if request.method == "POST" and form.is_valid():
        data = form.to_service_data()
        try:
            if item is None:
                item = spec.create(**data, **who)
            else:
                item = spec.update(**{spec.noun: item, "data": data}, **who)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, form.saved_message(item))
            return redirect(f"dashboard:{kind}-list")
    return render(request, "dispatch/fleet/form.html", {"kind": spec, "form": form, "item": item})


@dispatcher_required
@require_POST
def fleet_active_view(request: HttpRequest, kind: str, pk: int, is_active: bool) -> HttpResponse:
    """Deactivate (kept for history, out of planning) or re-activate one item."""
    spec = KINDS[kind]
    item = get_object_or_404(spec.items(), pk=pk)
    try:
        if is_active:
            item = spec.update(**{spec.noun: item, "data": {"is_active": True}})
        else:
            item = spec.deactivate(**{spec.noun: item})
    except ValidationError as exc:
        flash_service_errors(request, exc)
    else:
        if item.is_active:
            done = _("%(name)s is active again.") % {"name": item}
        else:
            done = _("%(name)s is deactivated.") % {"name": item}
        messages.success(request, done)
    return redirect(f"dashboard:{kind}-list")
