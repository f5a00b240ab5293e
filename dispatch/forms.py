"""Dashboard forms. They only collect text; dispatch.services.orders validates its meaning."""

from __future__ import annotations

from typing import Any

from django import forms

from dispatch.models import Order

WINDOW_SLOTS = 2


class OrderForm(forms.Form):
    external_id = forms.CharField(label="Reference", required=False, max_length=100)
    customer_name = forms.CharField(label="Customer name", max_length=150)
    customer_phone = forms.CharField(label="Phone", required=False, max_length=40)
    customer_email = forms.CharField(
        label="Email", required=False, max_length=254, widget=forms.EmailInput
    )
    address_line1 = forms.CharField(label="Address", required=False, max_length=200)
    address_line2 = forms.CharField(label="Address line 2", required=False, max_length=200)
    postcode = forms.CharField(required=False, max_length=20)
    city = forms.CharField(required=False, max_length=100)
    country = forms.CharField(required=False, max_length=2, help_text="Empty: your country.")
    lat = forms.CharField(label="Latitude", required=False, max_length=32)
    lng = forms.CharField(label="Longitude", required=False, max_length=32)
    delivery_date = forms.CharField(label="Delivery date", widget=forms.DateInput({"type": "date"}))
    window1_start = forms.CharField(
        label="Window from", required=False, widget=forms.TimeInput({"type": "time"})
    )
    window1_end = forms.CharField(
        label="Window until", required=False, widget=forms.TimeInput({"type": "time"})
    )
    window2_start = forms.CharField(
        label="Second window from", required=False, widget=forms.TimeInput({"type": "time"})
    )
    window2_end = forms.CharField(
        label="Second window until", required=False, widget=forms.TimeInput({"type": "time"})
    )
    service_minutes = forms.CharField(label="Minutes at the door", required=False, initial="5")
    weight_kg = forms.CharField(label="Weight (kg)", required=False, initial="0")
    volume_l = forms.CharField(label="Volume (l)", required=False, initial="0")
    items = forms.CharField(required=False, initial="1")
    required_skills = forms.CharField(
        label="Required skills", required=False, help_text="Comma separated, e.g. fridge, 2-person"
    )
    priority = forms.ChoiceField(choices=Order.Priority.choices, initial=Order.Priority.NORMAL)
    notes = forms.CharField(required=False, widget=forms.Textarea({"rows": 3}), max_length=2000)

    def to_order_data(self) -> dict[str, Any]:
        """The form's values in the shape order_clean takes (as the API would send them)."""
        data = dict(self.cleaned_data)
        windows = []
        for slot in range(1, WINDOW_SLOTS + 1):
            start, end = data.pop(f"window{slot}_start"), data.pop(f"window{slot}_end")
            if start or end:
                windows.append({"start": start[:5], "end": end[:5]})
        data["time_windows"] = windows
        minutes = data.pop("service_minutes")
        try:
            data["service_s"] = int(float(minutes) * 60) if minutes else 300
        except ValueError:
            data["service_s"] = minutes  # order_clean reports it
        return data

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for field, messages in errors.items():
            target = {"time_windows": "window1_start", "service_s": "service_minutes"}.get(
                field, field
            )
            for message in messages:
                self.add_error(target if target in self.fields else None, message)

    @classmethod
    def initial_from(cls, order: Order) -> dict[str, Any]:
        initial = {name: getattr(order, name) for name in cls.base_fields if hasattr(order, name)}
        initial["lat"] = "" if order.lat is None else order.lat
        initial["lng"] = "" if order.lng is None else order.lng
        initial["delivery_date"] = order.delivery_date.isoformat()
        initial["required_skills"] = ", ".join(order.required_skills)
        initial["service_minutes"] = round(order.service_s / 60, 1)
        for slot, window in enumerate(order.time_windows[:WINDOW_SLOTS], start=1):
            initial[f"window{slot}_start"], initial[f"window{slot}_end"] = (
                window["start"],
                window["end"],
            )
        return initial
