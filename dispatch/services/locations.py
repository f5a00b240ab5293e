"""A dispatcher shows where an address really is: the order moves there, and the place is
remembered for the address, so that the next order to it lands there too (the geocoder
consults corrections before it searches). Every correction is in the audit log."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from audit.services import current_actor, record
from dispatch.models import LocationCorrection, Order, location_key
from dispatch.services import orders as order_services
from geo.models import fold

MAX_LABEL = 300


def _coordinates(lat: Any, lng: Any) -> tuple[float, float]:
    errors: dict[str, list[str]] = {}
    values = []
    for name, value, limit in (("lat", lat, 90), ("lng", lng, 180)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            errors[name] = [gettext("A number of degrees.")]
            continue
        if not math.isfinite(number) or not -limit <= number <= limit:
            errors[name] = [gettext("Between -%(limit)s and %(limit)s degrees.") % {"limit": limit}]
        values.append(number)
    if errors:
        raise ValidationError(errors)
    return values[0], values[1]


@transaction.atomic
def location_remember(
    *,
    line1: str,
    postcode: str = "",
    city: str = "",
    country: str = "",
    lat: Any,
    lng: Any,
    label: str = "",
    source: str = LocationCorrection.Source.PIN,
    order: Order | None = None,
    actor: str | None = None,
) -> LocationCorrection:
    """Remember that this address is at (lat, lng), replacing what was remembered."""
    lat, lng = _coordinates(lat, lng)
    if not fold(line1):
        raise ValidationError(
            {"address_line1": [gettext("An address to remember the location of.")]}
        )
    if source not in LocationCorrection.Source.values:
        raise ValidationError({"source": [f"One of {', '.join(LocationCorrection.Source)}."]})
    actor = actor or current_actor()
    written = ", ".join(p for p in (line1, " ".join(p for p in (postcode, city) if p)) if p)
    key = location_key(line1=line1, postcode=postcode, city=city, country=country)
    before = LocationCorrection.objects.filter(address_key=key).first()
    correction, _ = LocationCorrection.objects.update_or_create(
        address_key=key,
        defaults={
            "line_key": fold(line1)[:200],
            "address": written[:300],
            "lat": lat,
            "lng": lng,
            "label": (label or "")[:MAX_LABEL],
            "source": source,
            "actor": actor[:200],
            "order": order,
        },
    )
    record(
        "order.location_corrected",
        target=(f"order #{order.pk}: " if order else "") + written[:250],
        actor=actor,
        lat=lat,
        lng=lng,
        source=source,
        label=label[:MAX_LABEL],
        before=[before.lat, before.lng] if before else None,
    )
    return correction


@transaction.atomic
def order_locate(
    *, order: Order, lat: Any, lng: Any, label: str = "", actor: str | None = None
) -> Order:
    """Put the order at (lat, lng), as a dispatcher showed on its map, and remember the
    place for its address. A delivered, failed, cancelled or under-way order keeps its
    place (order_update refuses it)."""
    lat, lng = _coordinates(lat, lng)
    actor = actor or current_actor()
    order = order_services.order_update(order=order, data={"lat": lat, "lng": lng}, actor=actor)
    if fold(order.address_line1):
        location_remember(
            line1=order.address_line1,
            postcode=order.postcode,
            city=order.city,
            country=order.country,
            lat=lat,
            lng=lng,
            label=label,
            source=LocationCorrection.Source.PIN,
            order=order,
            actor=actor,
        )
    else:
        record(
            "order.location_corrected",
            target=f"order #{order.pk}",
            actor=actor,
            lat=lat,
            lng=lng,
            source=LocationCorrection.Source.PIN,
        )
    return order
