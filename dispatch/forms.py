"""Dashboard forms. The order form only collects text: every rule is the order input
schema's (dispatch.services.order_input), which the service checks the form's values
with, as it does the API's and a CSV row's; its field errors are shown on the form. The
browser's hints (maxlength, required) are read from the same schema."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.i18n import language_choices
from dispatch.models import Order
from dispatch.services.order_input import input_field
from dispatch.services.parsing import minutes_as_seconds

WINDOW_SLOTS = 2
#: The form's "Collect first from…" fields: `pickup_<field of the order's pickup>`.
PICKUP_PREFIX = "pickup_"


def _text(label: Any = None, **kwargs: Any) -> forms.CharField:
    """A form field that takes any text, for the schema to judge."""
    if label is not None:
        kwargs["label"] = label
    return forms.CharField(required=False, **kwargs)


class OrderForm(forms.Form):
    external_id = _text(_("Reference"))
    customer_name = _text(_("Customer name"))
    customer_phone = _text(_("Phone"))
    customer_email = _text(_("Email"), widget=forms.EmailInput)
    language = _text(
        _("Language"),
        widget=forms.Select(choices=language_choices(automatic=_("The business's language"))),
        help_text=_("Of the customer's messages and tracking page."),
    )
    address_line1 = _text(_("Address"))
    address_line2 = _text(_("Address line 2"))
    postcode = _text(_("Postcode"))
    city = _text(_("City"))
    country = _text(_("Country"), help_text=_("Empty: your country."))
    lat = _text(_("Latitude"))
    lng = _text(_("Longitude"))
    delivery_date = _text(_("Delivery date"), widget=forms.DateInput({"type": "date"}))
    latest_date = _text(
        _("Deliver by"),
        widget=forms.DateInput({"type": "date"}),
        help_text=_(
            "The last acceptable day; empty: only the delivery date. Planning several "
            "days chooses a day in between."
        ),
    )
    window1_start = _text(_("Window from"), widget=forms.TimeInput({"type": "time"}))
    window1_end = _text(_("Window until"), widget=forms.TimeInput({"type": "time"}))
    window2_start = _text(_("Second window from"), widget=forms.TimeInput({"type": "time"}))
    window2_end = _text(_("Second window until"), widget=forms.TimeInput({"type": "time"}))
    service_minutes = _text(_("Minutes at the door"), initial="5")
    weight_kg = _text(_("Weight (kg)"), initial="0")
    volume_l = _text(_("Volume (l)"), initial="0")
    items = _text(_("Items"), initial="1")
    required_skills = _text(
        _("Required skills"), help_text=_("Comma separated, e.g. fridge, 2-person")
    )
    barcodes = _text(
        _("Parcel barcodes"),
        widget=forms.Textarea({"rows": 2}),
        help_text=_(
            "The store's own codes on the parcel, one a line (or comma separated). "
            "Our label's code is always scanned too."
        ),
    )
    priority = _text(
        _("Priority"),
        widget=forms.Select(choices=Order.Priority.choices),
        initial=Order.Priority.NORMAL,
    )
    notes = _text(_("Notes"), widget=forms.Textarea({"rows": 3}))
    # "Collect first from…": a pickup-and-delivery order (all empty: a plain delivery)
    pickup_name = _text(_("Collect from (name)"))
    pickup_phone = _text(_("Pickup phone"))
    pickup_address_line1 = _text(_("Pickup address"))
    pickup_postcode = _text(_("Pickup postcode"))
    pickup_city = _text(_("Pickup city"))
    pickup_lat = _text(_("Pickup latitude"))
    pickup_lng = _text(_("Pickup longitude"))
    pickup_window_start = _text(_("Pickup from"), widget=forms.TimeInput({"type": "time"}))
    pickup_window_end = _text(_("Pickup until"), widget=forms.TimeInput({"type": "time"}))
    pickup_service_minutes = _text(_("Minutes at the pickup"), initial="5")
    pickup_notes = _text(_("Pickup notes"), widget=forms.Textarea({"rows": 2}))

    def __init__(self, *args: Any, address_search_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if address_search_url:  # the address type-ahead (static/js/address_search.js)
            line1 = self.fields["address_line1"]
            line1.widget.attrs.update(
                {
                    "data-address-search": address_search_url,
                    "data-pick": "fill",
                    "data-fill": json.dumps(
                        {
                            part: f"id_{name}"
                            for part, name in (
                                ("line1", "address_line1"),
                                ("line2", "address_line2"),
                                ("postcode", "postcode"),
                                ("city", "city"),
                                ("lat", "lat"),
                                ("lng", "lng"),
                            )
                        }
                    ),
                }
            )
            line1.help_text = _(
                "Type to search your region's addresses; picking one fills the address and "
                "its coordinates. Address data © OpenStreetMap contributors."
            )
        for name, field in self.fields.items():
            rule = _schema_field(name)
            if rule is None:
                continue
            # a list's max_length counts its items, not characters
            text = not isinstance(field.widget, forms.Select) and not hasattr(rule, "child")
            if getattr(rule, "max_length", None) and text:
                field.widget.attrs["maxlength"] = rule.max_length
            if rule.required:
                field.widget.attrs["required"] = True

    def main_fields(self) -> list:
        return [f for f in self if not f.name.startswith(PICKUP_PREFIX)]

    def pickup_fields(self) -> list:
        return [f for f in self if f.name.startswith(PICKUP_PREFIX)]

    def _pickup_data(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """The "Collect first from…" values as the order input's `pickup` (popped from
        `data`), or None when they are all empty (the minutes' default aside)."""
        values = {
            name[len(PICKUP_PREFIX) :]: data.pop(name)
            for name in list(data)
            if name.startswith(PICKUP_PREFIX)
        }
        minutes = values.pop("service_minutes")
        if not any(v for v in values.values()):
            return None
        start, end = values.pop("window_start"), values.pop("window_end")
        values["time_windows"] = [{"start": start[:5], "end": end[:5]}] if start or end else []
        seconds = minutes_as_seconds(minutes)
        values["service_s"] = minutes if seconds is None else seconds
        return values

    def to_order_data(self) -> dict[str, Any]:
        """The form's values in the order input's shape (as the API would send them)."""
        data = dict(self.cleaned_data)
        pickup = self._pickup_data(data)
        if pickup is not None:
            data["pickup"] = pickup
        windows = []
        for slot in range(1, WINDOW_SLOTS + 1):
            start, end = data.pop(f"window{slot}_start"), data.pop(f"window{slot}_end")
            if start or end:
                windows.append({"start": start[:5], "end": end[:5]})
        data["time_windows"] = windows
        minutes = data.pop("service_minutes")  # read as a CSV's column is
        seconds = minutes_as_seconds(minutes)
        # empty: the schema's default; not a number: the schema refuses it
        data["service_s"] = minutes if seconds is None else seconds
        data["barcodes"] = [
            code.strip() for code in re.split(r"[,\n]", data["barcodes"]) if code.strip()
        ]
        return data

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """The schema's field errors next to the fields they are about."""
        for field, messages in errors.items():
            target = {
                "time_windows": "window1_start",
                "service_s": "service_minutes",
                "pickup.time_windows": "pickup_window_start",
            }.get(field, field.replace("pickup.", PICKUP_PREFIX))
            for message in messages:
                self.add_error(target if target in self.fields else None, message)

    @classmethod
    def initial_from(cls, order: Order) -> dict[str, Any]:
        initial = {name: getattr(order, name) for name in cls.base_fields if hasattr(order, name)}
        initial["lat"] = "" if order.lat is None else order.lat
        initial["lng"] = "" if order.lng is None else order.lng
        initial["delivery_date"] = order.delivery_date.isoformat() if order.delivery_date else ""
        initial["latest_date"] = order.latest_date.isoformat() if order.latest_date else ""
        initial["required_skills"] = ", ".join(order.required_skills)
        initial["barcodes"] = "\n".join(order.barcodes)
        initial["service_minutes"] = round(order.service_s / 60, 1)
        for slot, window in enumerate(order.time_windows[:WINDOW_SLOTS], start=1):
            initial[f"window{slot}_start"], initial[f"window{slot}_end"] = (
                window["start"],
                window["end"],
            )
        pair = getattr(order, "pair_as_delivery", None)  # collected first: its pickup
        if pair is not None:
            pickup = pair.pickup
            for name in ("address_line1", "postcode", "city", "notes"):
                initial[PICKUP_PREFIX + name] = getattr(pickup, name)
            initial["pickup_name"] = pickup.customer_name
            initial["pickup_phone"] = pickup.customer_phone
            initial["pickup_lat"] = "" if pickup.lat is None else pickup.lat
            initial["pickup_lng"] = "" if pickup.lng is None else pickup.lng
            first = pickup.time_windows[0] if pickup.time_windows else {"start": "", "end": ""}
            initial["pickup_window_start"], initial["pickup_window_end"] = (
                first["start"],
                first["end"],
            )
            initial["pickup_service_minutes"] = round(pickup.service_s / 60, 1)
        return initial


class OrderActionForm(forms.Form):
    """The detail page's cancel and reschedule posts, read through a form so that Django's
    own checks apply (no NUL characters, which PostgreSQL refuses with an error); the
    values are judged by the service, as the order form's are."""

    reason = _text()
    delivery_date = _text()
    window_start = _text()
    window_end = _text()


def _schema_field(name: str) -> Any:
    try:
        return input_field(name)
    except KeyError:  # a field of the form only (windows, minutes)
        return None


class AddressSearchForm(forms.Form):
    """What a type-ahead sends: the text typed so far (NUL characters are refused by
    Django's CharField), and how many candidates."""

    q = forms.CharField(
        max_length=200, strip=True, error_messages={"required": _("Type an address.")}
    )
    limit = forms.IntegerField(min_value=1, max_value=20, required=False)


class LocationForm(forms.Form):
    """Where a dispatcher put an order's pin (and the search result, if one was picked)."""

    lat = forms.FloatField(min_value=-90, max_value=90)
    lng = forms.FloatField(min_value=-180, max_value=180)
    label = forms.CharField(max_length=300, required=False)


class LocationRememberForm(LocationForm):
    """An address of a CSV file and where a dispatcher says it is (picked in the review)."""

    address_line1 = forms.CharField(max_length=200)
    postcode = forms.CharField(max_length=20, required=False)
    city = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=2, required=False)
