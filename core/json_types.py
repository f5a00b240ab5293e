"""Strict JSON types for API input: a value sent as JSON must already be of its field's
type. DRF reads liberally (`{"a": 1}` for text becomes "{'a': 1}", `true` for a number 1.0,
`20261201` for a date a date); a JSON client that sends the wrong type has a bug, and
guessing hides it. Here a text field takes only a JSON string, a number only a JSON number
(never true/false), a whole number only an integer, a yes/no only true or false, a date
only a "YYYY-MM-DD" string and a time only a string; lists and objects are checked item
by item.

Which input is JSON: the API's JSON parser (config.api.JSONParser) makes every object of
a body a `JSONObject`. Form and multipart bodies (text only), CSV rows, Shopify's orders
mapped to ours and the dashboard's forms are plain mappings, read liberally as before.
`json_type_error` is the rule for one field; `JSONTypedSerializer` applies it to every
writable field of an input serializer; the order input schema applies it itself, so the
API's orders, one at a time or in bulk, follow it and the other channels do not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import models
from rest_framework import fields, relations, serializers

#: The date form the API documents (OpenAPI `format: date`): Python's fromisoformat would
#: also read 20261201 and 2026-W49-1, and \d (as Django's parse_date) any script's digits.
#: Not the store date reader's year-first pattern (dispatch.services.parsing.YEAR_FIRST),
#: which reads what people write (2026/12/6, 2026.12.06.) and is liberal on purpose.
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class JSONObject(dict):
    """An object of a JSON request body (made by the API's JSON parser): its values are
    held to their fields' JSON types."""

    __slots__ = ()


_TEXT = "Send text (a JSON string), not {sent}."
_NUMBER = "Send a number, not {sent}."
_INTEGER = "Send a whole number (a JSON integer), not {sent}."
_BOOLEAN = "Send true or false, not {sent}."
_LIST = "Send a list (a JSON array), not {sent}."
_OBJECT = "Send an object (a JSON object), not {sent}."
_DATE = "Send a date as text, YYYY-MM-DD."
_DECIMAL = "Send a number (or its decimal text, as answered), not {sent}."


def _sent(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    """An integer as JSON Schema has it: 3 and 3.0, not 3.5 (nor true)."""
    return _is_number(value) and (isinstance(value, int) or float(value).is_integer())


def _pk_is_integer(field: relations.PrimaryKeyRelatedField) -> bool:
    if field.pk_field is not None or field.queryset is None:
        return False  # a pk of its own form: read as the field says
    return isinstance(field.queryset.model._meta.pk, (models.AutoField, models.IntegerField))


def _scalar_error(field: fields.Field, value: Any) -> str | None:
    """The error for a value that is not of `field`'s JSON type (None when it is, or when
    the field's type is not a JSON scalar's)."""
    if isinstance(field, fields.BooleanField):
        return None if isinstance(value, bool) else _BOOLEAN.format(sent=_sent(value))
    if isinstance(field, fields.IntegerField):  # 2.5 is a number: the field says "whole"
        return None if _is_number(value) else _INTEGER.format(sent=_sent(value))
    if isinstance(field, fields.FloatField):
        return None if _is_number(value) else _NUMBER.format(sent=_sent(value))
    if isinstance(field, fields.DecimalField):  # answered as text, so text is read back too
        ok = _is_number(value) or isinstance(value, str)
        return None if ok else _DECIMAL.format(sent=_sent(value))
    if isinstance(field, fields.DateField):
        ok = isinstance(value, str) and ISO_DATE.fullmatch(value.strip())
        return None if ok else _DATE
    if isinstance(
        field,
        (
            fields.CharField,  # and EmailField, RegexField, URLField, SlugField...
            fields.DateTimeField,
            fields.TimeField,
            fields.DurationField,
            fields.UUIDField,
            relations.SlugRelatedField,
        ),
    ):
        return None if isinstance(value, str) else _TEXT.format(sent=_sent(value))
    if isinstance(field, relations.PrimaryKeyRelatedField) and _pk_is_integer(field):
        return None if _is_whole(value) else _INTEGER.format(sent=_sent(value))
    if isinstance(field, fields.ChoiceField) and not isinstance(field, fields.MultipleChoiceField):
        kinds = {type(choice) for choice in field.choices}
        if kinds == {str}:
            return None if isinstance(value, str) else _TEXT.format(sent=_sent(value))
        if kinds == {int}:
            return None if _is_whole(value) else _INTEGER.format(sent=_sent(value))
    return None


_LISTS = (
    serializers.ListSerializer,
    fields.ListField,
    fields.MultipleChoiceField,
    relations.ManyRelatedField,
)


def json_type_error(field: fields.Field, value: Any) -> str | None:
    """What is wrong with the JSON type of `value` sent for `field`, in the client's words
    (items of lists and objects named: "Item 2: ..."), or None. Null is left to the field
    (it knows whether it may be null); a field of no fixed type (JSONField, a file) takes
    anything here."""
    if value is None or isinstance(field, (fields.JSONField, fields.FileField)):
        return None
    if isinstance(field, _LISTS):
        if not isinstance(value, list):
            return _LIST.format(sent=_sent(value))
        child = getattr(field, "child", None) or getattr(field, "child_relation", None)
        if isinstance(field, fields.MultipleChoiceField):
            child = fields.ChoiceField(choices=field.choices)
        if child is not None:
            for number, item in enumerate(value, start=1):
                if (error := json_type_error(child, item)) is not None:
                    return f"Item {number}: {error}"
        return None
    if isinstance(field, (serializers.Serializer, fields.DictField, fields.HStoreField)):
        if not isinstance(value, dict):
            return _OBJECT.format(sent=_sent(value))
        if isinstance(field, serializers.Serializer):
            for name, error in json_type_errors(field, value).items():
                return f"{name}: {error}"
            return None
        for key, item in value.items():
            if (error := json_type_error(field.child, item)) is not None:
                return f"{key}: {error}"
        return None
    return _scalar_error(field, value)


def json_type_errors(serializer: serializers.Serializer, data: Mapping[str, Any]) -> dict:
    """field name → its JSON type error, for the writable fields present in `data`."""
    errors = {}
    for field in serializer._writable_fields:
        if field.field_name in data:
            error = json_type_error(field, data[field.field_name])
            if error is not None:
                errors[field.field_name] = [error]
    return errors


class JSONTypedSerializer(serializers.Serializer):
    """An input serializer whose JSON bodies (a JSONObject) must send each field as its own
    JSON type (see the module); other data is read as DRF reads it. Type errors are
    answered with the fields' other errors, at once."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, JSONObject):
            return super().to_internal_value(data)
        errors = json_type_errors(self, data)
        if not errors:
            return super().to_internal_value(data)
        try:
            super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                errors = {**exc.detail, **errors}
        raise serializers.ValidationError(errors)
