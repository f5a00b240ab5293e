"""Pieces shared by the dispatch models."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


def phone_number_plausible(number: phonenumbers.PhoneNumber) -> bool:
    """A number we take: one libphonenumber knows as valid, or one of a length possible in
    its country that fits the country's numbering plan (the plan's general pattern).

    `is_valid_number` alone refuses numbers of ranges missing from libphonenumber's
    metadata: newly allocated ranges until the library is upgraded, and ranges kept for
    fiction, such as Ofcom's UK mobiles 07700 900000-900999, which people use in
    trials (and were refused on the driver form). Nonsense (too short, too long, an
    unknown country code, a prefix the country does not use) is still refused.
    """
    if phonenumbers.is_valid_number(number):
        return True
    region = phonenumbers.region_code_for_country_code(number.country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    pattern = metadata.general_desc.national_number_pattern if metadata else None
    return bool(
        pattern
        and phonenumbers.is_possible_number(number)
        and re.fullmatch(pattern, phonenumbers.national_significant_number(number))
    )


LATITUDE = [MinValueValidator(-90), MaxValueValidator(90)]
LONGITUDE = [MinValueValidator(-180), MaxValueValidator(180)]


def validate_e164(value: str) -> None:
    """Phone numbers are stored in E.164 (+441632960961); services normalise input to it."""
    if not value:
        return
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"'{value}' is not an E.164 phone number.") from exc
    if (
        not phone_number_plausible(number)
        or phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != value
    ):
        raise ValidationError(f"'{value}' is not an E.164 phone number.")


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True


class Address(models.Model):
    """A structured postal address with its coordinates (WGS84 degrees)."""

    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2.")
    lat = models.FloatField(null=True, blank=True, validators=LATITUDE)
    lng = models.FloatField(null=True, blank=True, validators=LONGITUDE)

    class Meta:
        abstract = True

    @property
    def has_location(self) -> bool:
        return self.lat is not None and self.lng is not None

    def address_text(self) -> str:
        parts = [
            self.address_line1,
            self.address_line2,
            " ".join(p for p in (self.postcode, self.city) if p),
            self.region,
            self.country,
        ]
        return ", ".join(p for p in parts if p)
