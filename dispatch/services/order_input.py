"""The order input schema: the one definition of what an order may be sent as.

Every channel goes through it by way of `order_clean`, which the order services call:
the API, CSV rows, Shopify orders and the dashboard form. The OpenAPI description of
the API's order input is generated from the same class. A limit is written once, as an
argument of a field (`max_length`, `max_value`, the time pattern; the text lengths are
the model's columns), and both the check that runs and the schema that documents it
read it from there.

It reads liberally what people and systems send (numbers as text, "high" for a
priority, skills as "fridge, 2-person", national phone numbers in the tenant's country)
and answers every field error at once, in the dispatcher's words. A JSON body (the API's)
is held to the JSON types the schema documents instead (core.json_types): a JSON client
that sends text for a number has a bug that guessing would hide.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from core.i18n import normalize_language, shipped_languages
from core.json_types import JSONObject, json_type_error
from dispatch.models import Order
from dispatch.services.phones import phone_e164

Errors = dict[str, list[str]]

#: A time of day on the 24-hour clock, 00:00 to 23:59.
TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d\Z"
MAX_TIME_WINDOWS = 4
#: The store's own codes on a parcel: how many, and how long each may be.
MAX_BARCODES = 20
BARCODE_MAX_LENGTH = 64
#: Fields of an order that a client sees but may not send (refused by name).
READ_ONLY_FIELDS = frozenset(
    {"id", "status", "source", "tenant", "created_at", "updated_at", "geocode_status", "events"}
)
# The English names, whatever language the labels are shown in (the API and files send these).
PRIORITY_NAMES = {member.name.lower(): member.value for member in Order.Priority}
REQUIRED = gettext_lazy("This field is required.")
LATEST_BEFORE_DELIVERY = gettext_lazy("The last day to deliver is before the delivery date.")


def _column(name: str) -> Any:
    """The model's field: what the database keeps is what the schema allows."""
    return Order._meta.get_field(name)


# --- fields ------------------------------------------------------------------------------


class OrderField:
    """A field of the order input. `read` turns the value sent into the clean value (None
    and "" mean "not given": the field's default) or raises the field's error.

    OrderInputSerializer.clean calls `read` itself; `run_validation` lets another
    serializer use a field of the schema in the usual way (a field left out is required,
    skipped, or its default)."""

    def run_validation(self, data: Any = empty) -> Any:
        if data is not empty:
            return self.read(data)
        if getattr(self.root, "partial", False):
            raise SkipField()
        if self.required:
            self.fail("required")
        return self.fallback()

    def read(self, value: Any) -> Any:
        raise NotImplementedError

    def fallback(self) -> Any:
        if self.default is empty:
            raise SkipField()
        return self.default() if callable(self.default) else self.default


class Text(OrderField, serializers.CharField):
    """Text of at most the model column's length, stripped; anything sent is read as text."""

    default_error_messages = {
        "max_length": gettext_lazy("At most {max_length} characters."),
        "required": REQUIRED,
        "blank": REQUIRED,
    }

    def __init__(self, column: str, *, required: bool = False, **kwargs: Any) -> None:
        if not required:
            kwargs["default"] = ""
        super().__init__(
            max_length=_column(column).max_length,
            required=required,
            allow_blank=not required,
            allow_null=not required,
            **kwargs,
        )

    def read(self, value: Any) -> str:
        text = "" if value is None else str(value).strip()
        if not text:
            if self.required:
                self.fail("required")
            return text
        self.run_validators(text)
        return text


class Email(OrderField, serializers.EmailField):
    default_error_messages = {
        "max_length": gettext_lazy("At most {max_length} characters."),
        "invalid": gettext_lazy("Enter a valid email address."),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_length=_column("customer_email").max_length,
            required=False,
            default="",
            allow_blank=True,
            allow_null=True,
            **kwargs,
        )

    def read(self, value: Any) -> str:
        text = "" if value is None else str(value).strip().lower()
        if text:
            self.run_validators(text)
        return text


class Phone(OrderField, serializers.CharField):
    """Any way of writing a phone number; stored in E.164, national numbers read in the
    tenant's country (the serializer's context `default_country`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, default="", allow_blank=True, allow_null=True, **kwargs)

    def read(self, value: Any) -> str:
        try:
            return phone_e164(value, region=self.context.get("default_country", ""))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class Language(OrderField, serializers.CharField):
    """The customer's language: a shipped code (settings.LANGUAGES), read from any tag of
    it ("fr-CA", "FR", "fr_CA" are "fr"); empty: the business's language."""

    def __init__(self, **kwargs: Any) -> None:
        # no max_length: a tag longer than the column ("fr-CA-u-ca-gregory") is still read
        super().__init__(required=False, default="", allow_blank=True, allow_null=True, **kwargs)

    def read(self, value: Any) -> str:
        text = "" if value is None else str(value).strip()
        if not text:
            return ""
        code = normalize_language(text)
        if code is None:
            raise serializers.ValidationError(
                gettext(
                    "'%(text)s' is not a language we write in; send one of: %(codes)s "
                    "(or empty for the business's language)."
                )
                % {"text": text[:20], "codes": ", ".join(shipped_languages())}
            )
        return code


class Country(OrderField, serializers.CharField):
    """An ISO 3166-1 alpha-2 code (any case); empty: the tenant's country."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_length=_column("country").max_length,
            required=False,
            allow_blank=True,
            allow_null=True,
            **kwargs,
        )

    def read(self, value: Any) -> str:
        text = "" if value is None else str(value).strip()
        country = text.upper() or self.context.get("default_country", "")
        # every code libphonenumber knows has max_length (two) letters
        if country and country not in phonenumbers.SUPPORTED_REGIONS:
            raise serializers.ValidationError(
                gettext("'%(country)s' is not an ISO 3166-1 alpha-2 country code.")
                % {"country": country}
            )
        return country


class Coordinate(OrderField, serializers.FloatField):
    """Degrees between -limit and limit (WGS84), or None."""

    default_error_messages = {"invalid": gettext_lazy("Enter a number in degrees.")}

    def __init__(self, limit: int, **kwargs: Any) -> None:
        between = format_lazy(gettext_lazy("Must be between -{limit} and {limit}."), limit=limit)
        super().__init__(
            min_value=-limit,
            max_value=limit,
            required=False,
            default=None,
            allow_null=True,
            error_messages={"min_value": between, "max_value": between},
            **kwargs,
        )

    def read(self, value: Any) -> float | None:
        if value is None or value == "":
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail("invalid")
        if not math.isfinite(number):  # NaN passes the range validators: refused here
            self.fail("max_value")
        self.run_validators(number)
        return number


class UnreadDate(str):
    """A delivery date a store or a file wrote that could not be read, as written. Given
    as `delivery_date`, the order is kept needing a date: on no day, in no plan, until
    the dispatcher gives it one. Only the intake channels that read people's dates make
    one; JSON cannot, so the API stays strictly ISO. (Text, so that a CSV preview shows
    and serialises it as the cell it came from.)"""

    __slots__ = ()

    @property
    def text(self) -> str:
        return str(self)


class Date(OrderField, serializers.DateField):
    default_error_messages = {
        "invalid": gettext_lazy("Use the date format YYYY-MM-DD."),
        "required": REQUIRED,
    }

    def read(self, value: Any) -> dt.date | UnreadDate:
        if isinstance(value, dt.date | UnreadDate):
            return value
        if value is None or value == "":
            self.fail("required")
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail("invalid")


class LatestDate(Date):
    """The last day an order may be delivered on (its `latest_date`); empty: only its
    delivery date."""

    def read(self, value: Any) -> dt.date | None:
        if value is None or value == "":
            return None
        return super().read(value)


class TimeWindowSerializer(serializers.Serializer):
    start = serializers.RegexField(TIME_PATTERN, help_text="HH:MM, local time (24 h)")
    end = serializers.RegexField(TIME_PATTERN, help_text="HH:MM, local time (24 h)")


class TimeWindows(OrderField, serializers.ListField):
    """Up to MAX_TIME_WINDOWS windows, each ending after it starts, none overlapping;
    answered sorted."""

    default_error_messages = {
        "max_length": gettext_lazy(
            'Send a list of up to {max_length} {{"start": "HH:MM", "end": "HH:MM"}}.'
        ),
        "format": gettext_lazy('Each window needs "start" and "end" as HH:MM (24 h).'),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default", list)
        super().__init__(
            child=TimeWindowSerializer(), max_length=MAX_TIME_WINDOWS, required=False, **kwargs
        )

    def _time(self, window: Any, key: str) -> str:
        value = window.get(key) if isinstance(window, dict) else None
        if not isinstance(value, str):
            self.fail("format")
        try:
            self.child.fields[key].run_validators(value)  # the pattern the schema shows
        except serializers.ValidationError:
            self.fail("format")
        return value

    def read(self, value: Any) -> list[dict[str, str]]:
        if value in (None, "", []):
            return []
        if not isinstance(value, list):
            self.fail("max_length", max_length=self.max_length)
        self.run_validators(value)
        windows = []
        for window in value:
            start, end = self._time(window, "start"), self._time(window, "end")
            if start >= end:
                raise serializers.ValidationError(
                    gettext("Window %(start)s-%(end)s must end after it starts.")
                    % {"start": start, "end": end}
                )
            windows.append({"start": start, "end": end})
        windows.sort(key=lambda w: w["start"])
        for earlier, later in itertools.pairwise(windows):
            if later["start"] < earlier["end"]:
                raise serializers.ValidationError(gettext("Time windows must not overlap."))
        return windows


class Skills(OrderField, serializers.ListField):
    """Skill names, as a list or as text separated by , ; or |; stored lower case, sorted,
    without repeats."""

    def __init__(self, **kwargs: Any) -> None:
        length = _column("required_skills").base_field.max_length
        name = serializers.CharField(
            max_length=length,
            allow_blank=True,  # empty names are left out, not refused
            error_messages={
                "max_length": gettext_lazy("Skill names have at most {max_length} characters.")
            },
        )
        super().__init__(child=name, required=False, default=list, **kwargs)

    def read(self, value: Any) -> list[str]:
        if value in (None, "", []):
            return []
        if isinstance(value, str):
            value = re.split(r"[,;|]", value)
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise serializers.ValidationError(gettext("Send a list of skill names."))
        skills = sorted({s.strip().lower() for s in value if s.strip()})
        for skill in skills:
            self.child.run_validators(skill)
        return skills


class Barcodes(OrderField, serializers.ListField):
    """The store's own codes on the parcel (scanned at pickup and at the door): a list of
    up to MAX_BARCODES texts of 1 to BARCODE_MAX_LENGTH printable characters, stripped,
    none twice; kept in the order sent. Codes must be sent as text: a number would have
    lost an EAN's leading zeros before it got here, so it is refused, not converted."""

    default_error_messages = {
        "not_a_list": gettext_lazy('Send a list of codes as text, e.g. ["0123456789012"].'),
        "max_length": gettext_lazy("At most {max_length} codes."),
        "not_text": gettext_lazy(
            "Code {number} is not text: send every code as a string "
            '("0123456789012", not 123456789012).'
        ),
        "blank": gettext_lazy("Code {number} is empty."),
        "too_long": gettext_lazy("Code {number} has more than {max_length} characters."),
        "unprintable": gettext_lazy(
            "Code {number} has characters that cannot be printed "
            "(tabs, line breaks, control characters)."
        ),
        "repeated": gettext_lazy("Code '{code}' is there twice."),
    }

    def __init__(self, **kwargs: Any) -> None:
        code = serializers.CharField(min_length=1, max_length=BARCODE_MAX_LENGTH)
        kwargs.setdefault("default", list)
        super().__init__(child=code, max_length=MAX_BARCODES, required=False, **kwargs)

    def read(self, value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail("not_a_list")
        if len(value) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        codes: list[str] = []
        for number, code in enumerate(value, start=1):
            if not isinstance(code, str):
                self.fail("not_text", number=number)
            code = code.strip()
            if not code:
                self.fail("blank", number=number)
            if len(code) > BARCODE_MAX_LENGTH:
                self.fail("too_long", number=number, max_length=BARCODE_MAX_LENGTH)
            if not code.isprintable():
                self.fail("unprintable", number=number)
            if code in codes:
                self.fail("repeated", code=code)
            codes.append(code)
        return codes


class Quantity(OrderField):
    """A count or an amount of 0 or more, up to `max_value`, sent as a number or as text."""

    default_error_messages = {
        "invalid": gettext_lazy("Enter a number."),
        "min_value": gettext_lazy("Enter a number of 0 or more."),
        "max_value": gettext_lazy("At most {max_value}."),
    }

    def read(self, value: Any) -> Any:
        if value is None or value == "":
            return self.fallback()
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail("invalid")
        if not number.is_finite():
            self.fail("min_value")
        self.run_validators(number)
        return self.convert(number)

    def convert(self, number: Decimal) -> Any:
        raise NotImplementedError


class Count(Quantity, serializers.IntegerField):
    default_error_messages = {"whole": gettext_lazy("Enter a whole number.")}

    def __init__(self, *, max_value: int, default: int, **kwargs: Any) -> None:
        super().__init__(
            min_value=0, max_value=max_value, required=False, default=default, **kwargs
        )

    def convert(self, number: Decimal) -> int:
        if number != number.to_integral_value():
            self.fail("whole")
        return int(number)


class Amount(Quantity, serializers.DecimalField):
    """A decimal of the model column's places (more are rounded), at most 9,999,999."""

    def __init__(self, column: str, **kwargs: Any) -> None:
        model_field = _column(column)
        super().__init__(
            max_digits=model_field.max_digits,
            decimal_places=model_field.decimal_places,
            min_value=0,
            max_value=9_999_999,
            required=False,
            default=Decimal(0),
            **kwargs,
        )

    def convert(self, number: Decimal) -> Decimal:
        return number.quantize(Decimal(1).scaleb(-self.decimal_places))


def _priority_message() -> str:
    names = [f"{value} ({label.lower()})" for value, label in Order.Priority.choices]
    return gettext("Use %(names)s or %(last)s.") % {
        "names": ", ".join(names[:-1]),
        "last": names[-1],
    }


class Priority(OrderField, serializers.IntegerField):
    """A priority's number, or its name ("high")."""

    def __init__(self, **kwargs: Any) -> None:
        message = lazy(_priority_message, str)()  # in the language of the request that reads it
        super().__init__(
            min_value=min(Order.Priority.values),
            max_value=max(Order.Priority.values),
            required=False,
            default=Order.Priority.NORMAL.value,
            error_messages={"invalid": message, "min_value": message, "max_value": message},
            **kwargs,
        )

    def read(self, value: Any) -> int:
        if value is None or value == "":
            return self.fallback()
        if isinstance(value, str) and value.strip().lower() in PRIORITY_NAMES:
            return PRIORITY_NAMES[value.strip().lower()]
        if isinstance(value, float) and not value.is_integer():  # int() would round it down
            self.fail("invalid")
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.fail("invalid")
        self.run_validators(number)
        return number


# --- the schema --------------------------------------------------------------------------


#: What a pickup (the first half of a pickup-and-delivery pair) may be sent with: its
#: contact and place and its own windows; the parcel (size, skills, date) is the order's.
PICKUP_FIELDS = {"name": "customer_name", "phone": "customer_phone", "email": "customer_email"}


class PickupInputSerializer(serializers.Serializer):
    """Where the parcel is collected first (`pickup` of an order): the same driver picks
    it up there, then delivers it. Errors are answered as `pickup.<field>`."""

    name = Text("customer_name", required=True, help_text="Who hands the parcel over.")
    phone = Phone()
    email = Email()
    address_line1 = Text("address_line1", help_text="Required unless lat and lng are sent.")
    address_line2 = Text("address_line2")
    city = Text("city")
    postcode = Text("postcode")
    region = Text("region")
    country = Country()
    lat = Coordinate(90)
    lng = Coordinate(180)
    time_windows = TimeWindows(help_text="Local times on the order's delivery date.")
    service_s = Count(max_value=86_400, default=300, help_text="Time at the pickup, seconds.")
    notes = Text("notes")

    def read(self, value: Any) -> dict[str, Any] | None:
        """The pickup's order values (`customer_name` for `name`...), or None when none
        is sent; raises ValidationError with a dict of field errors."""
        if value is None:
            return None
        if not isinstance(value, Mapping):  # the error is the field's own: "pickup"
            raise serializers.ValidationError([gettext("Send an object (or null for no pickup).")])
        unknown = gettext("Unknown field.")
        errors: Errors = {name: [unknown] for name in set(value) - set(self.fields)}
        clean: dict[str, Any] = {}
        for name, field in self.fields.items():
            if isinstance(value, JSONObject) and (wrong := json_type_error(field, value.get(name))):
                errors[name] = [wrong]
                continue
            try:
                clean[PICKUP_FIELDS.get(name, name)] = field.read(value.get(name))
            except serializers.ValidationError as exc:
                errors[name] = [str(message) for message in exc.detail]
        if clean.get("lat") is None and clean.get("lng") is not None:
            errors.setdefault("lat", [gettext("Send both lat and lng, or neither.")])
        if clean.get("lng") is None and clean.get("lat") is not None:
            errors.setdefault("lng", [gettext("Send both lat and lng, or neither.")])
        unplaced = not clean.get("address_line1") and clean.get("lat") is None
        if unplaced and not {"lat", "lng"} & set(errors):
            errors.setdefault("address_line1", [gettext("Send an address or lat/lng.")])
        if errors:
            raise serializers.ValidationError(errors)
        return clean


class OrderInputSerializer(serializers.Serializer):
    """What a client may send for an order. Status, source, ids and timestamps are
    read-only; a read-only or unknown field is refused by name."""

    external_id = Text("external_id", help_text="The order's id in the system it came from.")
    customer_name = Text("customer_name", required=True)
    customer_phone = Phone(
        help_text="Any format; national numbers are read in the tenant's country. "
        "Answered in E.164."
    )
    customer_email = Email()
    language = Language(
        help_text="The language of the customer's messages and tracking page: en, fr, de, "
        "es or fi (a tag such as fr-CA is read as fr); empty: the business's language."
    )
    address_line1 = Text("address_line1", help_text="Required unless lat and lng are sent.")
    address_line2 = Text("address_line2")
    city = Text("city")
    postcode = Text("postcode")
    region = Text("region")
    country = Country(help_text="ISO 3166-1 alpha-2; empty: the tenant's country.")
    lat = Coordinate(
        90, help_text="Send both lat and lng, or neither (then the address is geocoded)."
    )
    lng = Coordinate(180)
    delivery_date = Date(help_text="YYYY-MM-DD")
    latest_date = LatestDate(
        required=False,
        help_text="Deliver by: the last acceptable day (YYYY-MM-DD, not before the delivery "
        "date); multi-day planning may choose any day in between. Empty: the delivery date.",
    )
    time_windows = TimeWindows(help_text="Local times on the delivery date; empty: any time.")
    service_s = Count(max_value=86_400, default=300, help_text="Time at the door, seconds.")
    weight_kg = Amount("weight_kg")
    volume_l = Amount("volume_l")
    items = Count(max_value=100_000, default=1)
    required_skills = Skills()
    barcodes = Barcodes(
        help_text="The store's own codes on the parcel (EAN, SKU…), as strings, to be "
        "scanned with our label code; up to 20, none twice."
    )
    priority = Priority(
        help_text="1 low, 2 normal, 3 high, 4 urgent (CSV files and forms may give the name)."
    )
    notes = Text("notes")
    pickup = PickupInputSerializer(
        required=False,
        allow_null=True,
        help_text="Collect the parcel here first: the same driver picks it up, then "
        "delivers it (a pickup-and-delivery pair).",
    )

    def clean(self, data: Any) -> tuple[dict[str, Any], Errors]:
        """(clean values, field errors) of one order, every error at once. With
        `partial`, only the fields sent are read (lat and lng go together)."""
        if not isinstance(data, Mapping):
            return {}, {"non_field_errors": [gettext("Send an order as a JSON object.")]}
        errors: Errors = {}
        for name in sorted(set(data) & READ_ONLY_FIELDS):
            errors[name] = [gettext("This field is read-only.")]
        for name in sorted(set(data) - set(self.fields) - READ_ONLY_FIELDS):
            errors[name] = [gettext("Unknown field.")]
        sent = set(data)
        if sent & {"lat", "lng"}:  # a pair: one sent alone is checked against the other
            sent |= {"lat", "lng"}
        clean: dict[str, Any] = {}
        for name, field in self.fields.items():
            if self.partial and name not in sent:
                continue
            nested = isinstance(field, PickupInputSerializer)  # checks its own fields' types
            if (
                not nested
                and isinstance(data, JSONObject)
                and (wrong := json_type_error(field, data.get(name)))
            ):
                errors[name] = [wrong]  # JSON sends types: no text for numbers, no guessing
                continue
            try:
                value = field.read(data.get(name))
                if not (nested and value is None):  # no pickup: no key (an order as before)
                    clean[name] = value
            except serializers.ValidationError as exc:
                if isinstance(exc.detail, dict):  # a nested object's fields: "pickup.lat"
                    for key, messages in exc.detail.items():
                        errors[f"{name}.{key}"] = [str(message) for message in messages]
                    continue
                errors[name] = [str(message) for message in exc.detail]
        self._check_location(clean, errors)
        latest, day = clean.get("latest_date"), clean.get("delivery_date")
        if latest and isinstance(day, dt.date) and latest < day:
            errors.setdefault("latest_date", [str(LATEST_BEFORE_DELIVERY)])
        return clean, errors

    def _check_location(self, clean: dict[str, Any], errors: Errors) -> None:
        if {"lat", "lng"} <= clean.keys():  # both read (an unreadable one has its error)
            lat, lng = clean["lat"], clean["lng"]
            if (lat is None) != (lng is None):
                errors["lat" if lat is None else "lng"] = [
                    gettext("Send both lat and lng, or neither.")
                ]
        if not self.partial and not clean.get("address_line1") and clean.get("lat") is None:
            errors.setdefault("address_line1", [gettext("Send an address or lat/lng.")])

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        clean, errors = self.clean(data)
        if errors:
            raise serializers.ValidationError(errors)
        return clean


@lru_cache(maxsize=256)
def order_schema(*, default_country: str, partial: bool = False) -> OrderInputSerializer:
    """The schema for orders of a tenant of `default_country`, ready to `clean` any
    number of orders. Building one costs several times more than cleaning an order with
    it, so they are kept: `clean` keeps no state, a kept one serves every request."""
    return OrderInputSerializer(context={"default_country": default_country}, partial=partial)


def order_clean(
    data: Any, *, default_country: str, partial: bool = False
) -> tuple[dict[str, Any], Errors]:
    """Validate and normalise one order's input, as sent by any channel.

    Returns (clean values, field errors). With `partial`, only the fields present are
    checked (for updates). Phones become E.164 (national numbers read in the tenant's
    country), emails lower case, time windows sorted. Nothing touches the database.
    """
    return order_schema(default_country=default_country, partial=partial).clean(data)


@cache
def input_field(name: str) -> serializers.Field:
    """One field of the schema, for what other shapes of the same input need to know of
    it (a form's maxlength, a mapping's truncation)."""
    return OrderInputSerializer().fields[name]
