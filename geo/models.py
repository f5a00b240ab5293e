"""Addresses of the regions served here (public schema, one copy for every tenant).

Each region's addresses come from the same OpenStreetMap extract as its roads and are
replaced whole whenever any profile of the region is built (geo.services.addresses). Search
runs on PostgreSQL's core full-text search over accent-folded text computed here (no
pg_trgm, no unaccent: the embedded server has neither), with fuzzy scoring in Python
(geo.selectors.addresses).
"""

from __future__ import annotations

import re
import unicodedata

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models

#: Letters NFKD does not take apart into a base letter and a mark.
_LETTERS = str.maketrans(
    {"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "œ": "oe", "þ": "th"}
    | {"\u0131": "i"}  # a dotless i
)
_NOT_WORD = re.compile(r"[\W_]+")  # any script's letters and digits are words
_NUMBER = re.compile(r"(\d+)\s*([a-z]?)(?![a-z])")


def fold(text: str) -> str:
    """`text` as search compares it: lower case, accents off ("Mäkelänkatu" → "makelankatu"),
    anything but letters and digits one space."""
    text = unicodedata.normalize("NFKD", (text or "").lower().translate(_LETTERS))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _NOT_WORD.sub(" ", text.translate(_LETTERS)).strip()


def tokens(text: str) -> list[str]:
    return fold(text).split()


def number_key(housenumber: str) -> str:
    """A house number as search compares it: its first number and a letter right after it
    ("5 A" → "5a", "12-14" → "12", "7b" → "7b"); "" when it holds no digit."""
    found = _NUMBER.search(fold(housenumber))
    return f"{int(found.group(1))}{found.group(2)}" if found else ""


def number_base(key: str) -> int | None:
    digits = re.match(r"\d+", key or "")
    return int(digits.group()) if digits else None


class Address(models.Model):
    """An address point (a house number on a street), a named place (a shop, a museum, a
    named building), or a street (where addresses along it are missing), of one region."""

    class Kind(models.TextChoices):
        ADDRESS = "address", "Address"
        PLACE = "place", "Place"
        STREET = "street", "Street"

    region = models.CharField(max_length=63)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    osm_id = models.CharField(max_length=24, help_text="n123, w123 or r123 in OpenStreetMap.")
    housenumber = models.CharField(max_length=40, blank=True)
    street = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    name = models.CharField(
        max_length=200, blank=True, help_text="A place's name; a street's name in another language."
    )
    lat = models.FloatField()
    lng = models.FloatField()
    # what search compares (fold()ed)
    street_key = models.CharField(max_length=200, blank=True)
    name_key = models.CharField(max_length=200, blank=True)
    number_key = models.CharField(max_length=12, blank=True)
    city_key = models.CharField(max_length=100, blank=True)
    search = SearchVectorField(help_text="The folded words of every part ('simple' parser).")

    class Meta:
        indexes = [
            models.Index(fields=["region", "street_key"], name="geo_address_street"),
            models.Index(fields=["region", "name_key"], name="geo_address_name"),
            GinIndex(fields=["search"], name="geo_address_search"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lat__gte=-90, lat__lte=90, lng__gte=-180, lng__lte=180),
                name="geo_address_on_the_globe",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="address")
                | (~models.Q(street="") & ~models.Q(housenumber="")),
                name="geo_address_has_street_and_number",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region}: {self.label}"

    @property
    def label(self) -> str:
        return address_label(
            name=self.name if self.kind == self.Kind.PLACE else "",
            street=self.street,
            housenumber=self.housenumber,
            postcode=self.postcode,
            city=self.city,
        )

    def fill_keys(self) -> None:
        """Compute what search compares from the address's parts."""
        self.street_key = fold(self.street)[:200]
        self.name_key = fold(self.name)[:200]
        self.number_key = number_key(self.housenumber)[:12]
        self.city_key = fold(self.city)[:100]
        words = " ".join((self.name, self.street, self.housenumber, self.postcode, self.city))
        # A tsvector literal of our own tokens, parsed by PostgreSQL as it is stored: the
        # same words to_tsquery('simple', …) is given at search time.
        seen = dict.fromkeys(tokens(words))
        self.search = " ".join(f"'{t}':{i}" for i, t in enumerate(seen, start=1) if i < 16384)


def address_label(*, name: str, street: str, housenumber: str, postcode: str, city: str) -> str:
    """ "Name, Street 5, 00100 City" without the parts that are empty."""
    where = " ".join(p for p in (street, housenumber) if p)
    town = " ".join(p for p in (postcode, city) if p)
    return ", ".join(p for p in (name, where, town) if p)


class AddressRegion(models.Model):
    """When a region's addresses were last imported, from which file, and how many."""

    name = models.CharField(max_length=63, unique=True)
    imported_at = models.DateTimeField()
    source = models.CharField(max_length=255, help_text="The extract's file name.")
    addresses = models.PositiveIntegerField(default=0)
    places = models.PositiveIntegerField(default=0)
    streets = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0, help_text="How long reading and storing took.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {self.addresses} addresses, {self.places} places"
