"""What the driver app sends besides fixes: stop events kept on the phone while it was
offline (each with the phone's own id, so a resend is answered, not repeated), parcel
scans at pickup and at the door, and the driver's choice of navigation app."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dispatch.models import Driver, Order, PickupDelivery
from dispatch.selectors.codes import labelled_order_id
from routing.selectors import driver_stop
from tracking.models import DriverReport, DriverSettings, ParcelScan
from tracking.services.day import FUTURE_SLACK, STOP_EVENTS, phone_instant, stop_event

#: How far back a phone's clock is believed: an event kept longer than this on a phone
#: is recorded at the time it arrives (a phone whose clock was wrong).
OLDEST = dt.timedelta(days=2)

#: Where "Navigate" opens, by the driver's choice ({lat} and {lng} filled in by the app).
NAVIGATION_URLS = {
    DriverSettings.Navigation.GOOGLE: (
        "https://www.google.com/maps/dir/?api=1&destination={lat},{lng}&travelmode=driving"
    ),
    DriverSettings.Navigation.APPLE: "https://maps.apple.com/?daddr={lat},{lng}&dirflg=d",
    DriverSettings.Navigation.WAZE: "https://waze.com/ul?ll={lat},{lng}&navigate=yes",
}


_MS = re.compile(r"-?[0-9]{1,15}")
_ID = re.compile(r"[0-9]{1,18}")  # an id: at most a bigint's digits


def _ms(value: Any, name: str) -> dt.datetime:
    """A time the app sent in a form: the digits of milliseconds since the epoch, or ISO
    8601 with an offset (tracking.services.day.phone_instant, as for GPS fixes)."""
    if isinstance(value, str) and _MS.fullmatch(value.strip()):
        value = int(value)
    at = phone_instant(value)
    if at is None:
        raise ValidationError(
            {name: _("Milliseconds since the epoch, or ISO 8601 with an offset.")}
        )
    return at


def phone_time(value: Any, *, sent: Any = None, now: dt.datetime | None = None) -> dt.datetime:
    """When the driver tapped, by the phone's clock (`value`), put on the server's clock
    with `sent` (the phone's clock when it sent it: a phone minutes fast or slow is off by
    the same amount both times); never in the future (beyond drift), never older than
    OLDEST (then: now)."""
    now = now or timezone.now()
    drift = None if sent in (None, "") else now - _ms(sent, "sent")
    if value in (None, ""):
        return now
    at = _ms(value, "t")
    if drift is not None:
        try:
            at += drift
        except OverflowError:
            raise ValidationError({"t": _("Not a time this phone can have kept.")}) from None
    if at > now + FUTURE_SLACK:
        raise ValidationError({"t": _("In the future: check the phone's clock.")})
    if at < now - OLDEST:
        return now
    return min(at, now)


def object_id(value: Any, name: str) -> int:
    """An id the phone sent: a positive integer (or its ASCII digits) that fits a bigint."""
    if isinstance(value, str) and _ID.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ValidationError({name: _("Must be an order id.")})
    return value


def _key(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError({"key": _("Must be a UUID made by the phone.")}) from None


def stop_report(
    *,
    driver: Driver,
    key: Any,
    order_id: Any,
    event: Any,
    reason: Any = "",
    t: Any = None,
    sent: Any = None,
) -> DriverReport:
    """Record a stop event the app kept with its own `key`: the first time through the
    same rule as every stop event (tracking.services.day.stop_event), at the phone's
    time; again (a resend after a lost answer), the first answer. A refused event is
    kept with its errors, so a resend is refused the same way and never half-applied."""
    key = _key(key)
    order_id = object_id(order_id, "order")
    if event not in STOP_EVENTS:
        raise ValidationError(
            {"event": _("One of: %(choices)s.") % {"choices": ", ".join(STOP_EVENTS)}}
        )
    at = phone_time(t, sent=sent)
    try:
        with transaction.atomic():
            report, created = DriverReport.objects.get_or_create(
                key=key,
                defaults={
                    "driver": driver,
                    "order_id": order_id,
                    "event": event,
                    "recorded_at": at,
                },
            )
            if not created:
                return _same_sender(report, driver, order_id)
            try:
                with transaction.atomic():
                    stop_event(driver=driver, order_id=order_id, event=event, reason=reason, at=at)
            except ValidationError as exc:
                report.errors = exc.message_dict
                report.save(update_fields=["errors"])
    except IntegrityError:  # the same key twice at once: the first one's answer
        return _same_sender(DriverReport.objects.get(key=key), driver, order_id)
    return report


def _same_sender(report: DriverReport, driver: Driver, order_id: int) -> DriverReport:
    if report.driver_id != driver.pk or report.order_id != order_id:
        raise ValidationError({"key": _("This key belongs to another event.")})
    return report


def order_for_code(driver: Driver, code: str) -> Order | None:
    """The order of `driver`'s published routes whose parcel carries `code`: our own
    label, or one of the store's codes imported with the order."""
    order_id = labelled_order_id(code)
    if order_id is not None:
        stop = driver_stop(driver, order_id)
        return stop.order if stop else None
    candidates = Order.objects.filter(barcodes__contains=[code]).values_list("pk", flat=True)
    for pk in candidates[:20]:
        stop = driver_stop(driver, pk)
        if stop is not None:
            return stop.order
    return None


def scan_record(
    *,
    driver: Driver,
    key: Any,
    code: Any,
    stage: Any,
    expected: Any = None,
    t: Any = None,
    sent: Any = None,
) -> ParcelScan:
    """A parcel code read at pickup (loading the van) or at the door (before finishing
    a stop, `expected` being that stop's order): which order of the driver's routes it
    is, and whether it is the one expected. Sent again with the same `key`: the first."""
    key = _key(key)
    done = ParcelScan.objects.filter(key=key).first()
    if done is not None:  # answered before (the stop may have left the route since)
        if done.driver_id != driver.pk:
            raise ValidationError({"key": _("This key belongs to another scan.")})
        return done
    errors: dict[str, str] = {}
    code = code.strip() if isinstance(code, str) else ""
    if not code or len(code) > 128 or not code.isprintable():
        errors["code"] = _("The code read from the label: 1 to 128 printable characters.")
    if stage not in ParcelScan.Stage.values:
        errors["stage"] = _("One of: %(choices)s.") % {
            "choices": ", ".join(ParcelScan.Stage.values)
        }
    expected_stop = None
    if expected not in (None, ""):
        try:
            expected_stop = driver_stop(driver, object_id(expected, "expected"))
        except ValidationError:
            errors["expected"] = _("Must be an order id.")
        else:
            if expected_stop is None:
                errors["expected"] = _("This order is not on your route.")
    elif stage == ParcelScan.Stage.DOOR:
        errors["expected"] = _("At the door, the stop being finished is required.")
    try:
        at = phone_time(t, sent=sent)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    order = order_for_code(driver, code)
    matched = order is not None and (
        expected_stop is None or _same_parcel(order.pk, expected_stop.order_id)
    )
    try:
        with transaction.atomic():
            return ParcelScan.objects.create(
                key=key,
                driver=driver,
                order=order,
                expected_order=expected_stop.order if expected_stop else None,
                code=code,
                stage=stage,
                matched=matched,
                recorded_at=at,
            )
    except IntegrityError:  # the same key twice at once: the first one
        return ParcelScan.objects.get(key=key, driver=driver)


def _same_parcel(order_id: int, expected_id: int) -> bool:
    """Whether a parcel read as order `order_id` is the one of `expected_id`: the same
    order, or the other end of its pickup-and-delivery pair (one parcel, its codes on
    both ends)."""
    if order_id == expected_id:
        return True
    return PickupDelivery.objects.filter(
        Q(pickup_id=order_id, delivery_id=expected_id)
        | Q(pickup_id=expected_id, delivery_id=order_id)
    ).exists()


def navigation_of(driver: Driver) -> str:
    row = DriverSettings.objects.filter(driver=driver).first()
    return row.navigation_app if row else DriverSettings.Navigation.GOOGLE


def navigation_set(*, driver: Driver, app: Any) -> DriverSettings:
    if app not in DriverSettings.Navigation.values:
        raise ValidationError(
            {
                "navigation_app": _("One of: %(choices)s.")
                % {"choices": ", ".join(DriverSettings.Navigation.values)}
            }
        )
    row, _created = DriverSettings.objects.update_or_create(
        driver=driver, defaults={"navigation_app": app}
    )
    return row


def loaded_orders(driver: Driver, order_ids: list[int]) -> set[int]:
    """Which of `order_ids` the driver has scanned at pickup."""
    return set(
        ParcelScan.objects.filter(
            driver=driver, stage=ParcelScan.Stage.PICKUP, matched=True, order_id__in=order_ids
        ).values_list("order_id", flat=True)
    )
