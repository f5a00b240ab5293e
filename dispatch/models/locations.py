"""Where an address really is, as the business's dispatchers have shown it."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from dispatch.models.base import LATITUDE, LONGITUDE, TimeStamped
from geo.models import fold


def location_key(*, line1: str, postcode: str = "", city: str = "", country: str = "") -> str:
    """An address as corrections are looked up by: its first line, postcode, city and
    country folded (case, accents, punctuation and spacing do not count). The second line
    (a flat, a company) is left out: the building is the same."""
    return "|".join(fold(p) for p in (line1, postcode, city, country))[:300]


class LocationCorrection(TimeStamped):
    """A dispatcher's answer to "where is this address?" (a pin dragged on the order's map,
    or a search result picked in the CSV review): the geocoder consults it before searching,
    so the next order to the same address lands on the same point."""

    class Source(models.TextChoices):
        PIN = "pin", _("Pin moved on the map")
        SEARCH = "search", _("Picked from the address search")

    address_key = models.CharField(max_length=300, unique=True)
    line_key = models.CharField(
        max_length=200, db_index=True, help_text="The first line alone, folded (type-ahead)."
    )
    address = models.CharField(max_length=300, help_text="The address as it was written.")
    lat = models.FloatField(validators=LATITUDE)
    lng = models.FloatField(validators=LONGITUDE)
    label = models.CharField(max_length=300, blank=True, help_text="The search result picked.")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.PIN)
    actor = models.CharField(max_length=200, help_text="user:<email>, api_key:<prefix>, system")
    order = models.ForeignKey(
        "dispatch.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The order it was corrected on, if any.",
    )

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lat__gte=-90, lat__lte=90, lng__gte=-180, lng__lte=180),
                name="location_correction_on_the_globe",
            )
        ]

    def __str__(self) -> str:
        return f"{self.address} → {self.lat:.5f}, {self.lng:.5f}"
