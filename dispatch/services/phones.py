"""Phone numbers in, E.164 out (customers' and drivers' alike). What is plausible enough
to store is the models' rule (dispatch.models.base.phone_number_plausible); this module
reads what people type into it."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_noop

from dispatch.models.base import phone_number_plausible

_WHY = {
    phonenumbers.ValidationResult.TOO_SHORT: gettext_noop("too short"),
    phonenumbers.ValidationResult.TOO_LONG: gettext_noop("too long"),
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: gettext_noop("no such country code"),
}


@lru_cache(maxsize=64)
def phone_example(region: str) -> str:
    """How a mobile number of `region` is written, nationally and internationally
    ("07400 123456 or +44 7400 123456" in GB); "" for no region."""
    if not region:
        return ""  # (libphonenumber's example of "no region" is a Czech number)
    number = phonenumbers.example_number_for_type(
        region.upper(), phonenumbers.PhoneNumberType.MOBILE
    )
    if number is None:
        return ""
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return f"{national} or {international}"


def phone_e164(value: object, *, region: str) -> str:
    """'020 7946 0958' in GB → '+442079460958'. Empty stays empty; nonsense raises
    ValidationError saying why and how to write one. Numbers without a country code
    ("07700 900123", "(07700) 900 123") are read in `region` (the tenant's country), and
    so is one whose country code lacks its "+" ("447700900123")."""
    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phone_number_plausible(number):
        why = _WHY.get(phonenumbers.is_possible_number_with_reason(number)) if number else None
        example = phone_example(region)
        if why:
            message = gettext("'%(text)s' is not a valid phone number (%(why)s).") % {
                "text": text,
                "why": gettext(why),
            }
        else:
            message = gettext("'%(text)s' is not a valid phone number.") % {"text": text}
        if example:
            message = gettext("%(problem)s Write it like %(example)s.") % {
                "problem": message,
                "example": example,
            }
        raise ValidationError(message)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
