"""Phone numbers in, E.164 out (customers' and drivers' alike)."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError


def phone_e164(value: object, *, region: str) -> str:
    """'020 7946 0958' in GB → '+442079460958'. Empty stays empty; nonsense raises
    ValidationError. National numbers are read in `region` (the tenant's country)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(f"'{text}' is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
