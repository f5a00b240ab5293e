"""The customer's rating of a delivery, from the tracking page (current schema): once per
order, only once it is delivered; 1 or 2 stars put an alert in front of the dispatcher.

Customer actions on the tracking page are not written to the audit log (which records
what the business's own users and keys do); the rating row itself is the record."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext, gettext_noop

from dispatch.models import Driver, Order, OrderStatus
from dispatch.selectors.recurring import tenant_today
from routing.models import DispatchAlert
from routing.selectors import published_stop
from tracking.models import DeliveryRating

COMMENT_MAX = 1000
LOW_STARS = 2  # this many stars or fewer alert the dispatcher
ALREADY_RATED = gettext_noop("This delivery has already been rated. Thank you!")


def _stars(value: Any) -> int:
    """1-5, from a form's text or a JSON number (not a bool, not 2.5)."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 1 <= value <= 5:
        raise ValidationError({"stars": gettext("Choose from 1 to 5 stars.")})
    return value


def _comment(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({"comment": gettext("Must be text.")})
    text = value.strip()
    if "\x00" in text:
        raise ValidationError({"comment": gettext("Must not contain NUL characters.")})
    if len(text) > COMMENT_MAX:
        raise ValidationError(
            {
                "comment": gettext("At most %(max)s characters (this one has %(length)s).")
                % {"max": f"{COMMENT_MAX:,}", "length": f"{len(text):,}"}
            }
        )
    return text


def delivered_by(order: Order) -> Driver | None:
    """The driver who delivered `order`: the one whose app reported it delivered (the
    event's actor is `driver:<id>`), else the driver of its newest published route."""
    event = order.events.filter(to_status=OrderStatus.DELIVERED).order_by("-created_at").first()
    if event is not None and event.actor.startswith("driver:"):
        driver_id = event.actor.removeprefix("driver:")
        if driver_id.isdigit():
            driver = Driver.objects.filter(pk=int(driver_id)).first()
            if driver is not None:
                return driver
    stop = published_stop(order.pk)
    return stop.route.driver if stop is not None else None


def rating_submit(*, order_id: int, stars: Any, comment: Any = "") -> DeliveryRating:
    """Record the customer's rating of a delivered order, once. A second rating (or the
    second of a double click) is refused with a field error and changes nothing."""
    stars_n, text = _stars(stars), _comment(comment)
    order = Order.objects.filter(pk=order_id).first()
    if order is None or order.status != OrderStatus.DELIVERED:
        raise ValidationError(
            {"stars": gettext("A delivery can be rated once it has been delivered.")}
        )
    if DeliveryRating.objects.filter(order=order).exists():
        raise ValidationError({"__all__": gettext(ALREADY_RATED)})
    try:
        with transaction.atomic():
            rating = DeliveryRating.objects.create(
                order=order, driver=delivered_by(order), stars=stars_n, comment=text
            )
            if stars_n <= LOW_STARS:
                _alert(rating)
    except IntegrityError as error:  # a second submission won the race: one rating stays
        raise ValidationError({"__all__": gettext(ALREADY_RATED)}) from error
    return rating


def _alert(rating: DeliveryRating) -> DispatchAlert:
    order = rating.order
    reference = order.external_id or f"#{order.pk}"
    by = f" (driver {rating.driver.name})" if rating.driver is not None else ""
    said = f': "{rating.comment}"' if rating.comment else ""
    message = f"{order.customer_name} rated order {reference} {rating.stars} of 5{by}{said}"
    if len(message) > 300:
        message = message[:298] + '…"'
    return DispatchAlert.objects.create(
        kind=DispatchAlert.Kind.LOW_RATING,
        date=tenant_today(),  # the day the dispatcher sees it (board, overview)
        order=order,
        message=message,
    )
