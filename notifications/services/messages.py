"""What customers read: templates per event and channel (the tenant's, else ours, in the
language active when rendering), written with placeholders (`notifications.services.
placeholders`: `{customer_name}`, optional parts `[, expected {eta_window}]`) over a plain
context of strings, and the SMS segment count the dashboard shows.

The placeholders (documented in docs/features.md and on the settings page):
  business        the tenant's name
  customer_name   the customer's first name ("" when none)
  order           the order's reference (external id, else #id)
  date            the delivery day, e.g. "Tuesday 1 December" ("" when none)
  window          the window the customer booked, e.g. "09:00-12:00" ("" when none)
  eta             the expected arrival, e.g. "10:40" ("" when unknown)
  eta_window      the arrival window promised around it, e.g. "10:15-11:15" ("" when
                  unknown; its width is a setting). It is the tracking page's window to
                  the letter, and says so when it falls outside the booked window:
                  "12:10-13:10 (later than the 09:00-12:00 you booked)"
  tracking_link   the tracking page's address
  driver_name     the driver's first name ("" when the tenant hides it)
  stops_before    how many stops the driver makes before this one, e.g. "2" ("" when
                  none, hidden or unknown: "0 stops away" is never said)
  reason          why a delivery failed ("" otherwise)
  recipient       who took the parcel, from the proof of delivery ("" when not recorded)

Times are in the tenant's time zone and its locale's format ("14:05", "2:05 PM").

Languages: our defaults are translated (the event is each text's context) into the
language active when rendering (`sending` activates the order's). A tenant's own template
(`NotificationSettings.templates`, keys "<event>.<channel>") is the owner's text and is
sent as written, whatever the order's language. Old Django-syntax templates that
migration 0010 could not convert are kept under `LEGACY` for the owner to rewrite; the
default is sent meanwhile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

from django.db import transaction
from django.utils.functional import lazy
from django.utils.translation import override, pgettext, pgettext_lazy

from notifications.models import Notification
from notifications.services.placeholders import PLACEHOLDERS, TemplateError, fill, parse, tidy
from tenants.selectors import current_tenant
from tenants.services.formats import Formats
from tracking.selectors import booked_windows

__all__ = ["PLACEHOLDERS", "TemplateError"]

#: The key in `NotificationSettings.templates` under which unconverted old templates wait.
LEGACY = "_legacy"

EVENTS = tuple(Notification.Event.values)

#: What each message says after the business's name (SMS) or greeting (email).
_BODIES = {
    "confirmed": pgettext_lazy(
        "confirmed",
        "order {order} is booked[ for {date}][, {window}]. Track it: {tracking_link}",
    ),
    "out_for_delivery": pgettext_lazy(
        "out_for_delivery",
        "your order {order} is on its way[, expected {eta_window}|, expected around {eta}]. "
        "Track it: {tracking_link}",
    ),
    "arriving_soon": pgettext_lazy(
        "arriving_soon",
        "[{driver_name}|your driver] is [{stops_before} stop(s) away|on the way to you]"
        "[, expected {eta_window}|, around {eta}]. {tracking_link}",
    ),
    "eta_changed": pgettext_lazy(
        "eta_changed",
        "order {order} is now expected[ {eta_window}| around {eta}]. Sorry for the change. "
        "{tracking_link}",
    ),
    "delivered": pgettext_lazy(
        "delivered",
        "order {order} was delivered[ to {recipient}]. Proof of delivery: {tracking_link}",
    ),
    "failed": pgettext_lazy(
        "failed",
        "we could not deliver order {order}[ ({reason})]. We will be in touch to arrange "
        "another time.",
    ),
    "rescheduled": pgettext_lazy(
        "rescheduled",
        "order {order} is now booked[ for {date}][, {window}]. {tracking_link}",
    ),
}

#: A pickup (the first half of a pickup-and-delivery pair) is a collection: its contact
#: hands a parcel over. The tenant's own templates are written for deliveries, so a
#: pickup's messages are these.
_PICKUP_BODIES = {
    "confirmed": pgettext_lazy(
        "pickup confirmed",
        "we will collect a parcel (order {order}) from you[ on {date}][, {window}]. "
        "Track the collection: {tracking_link}",
    ),
    "out_for_delivery": pgettext_lazy(
        "pickup out_for_delivery",
        "our driver comes to collect order {order} today"
        "[, expected {eta_window}|, expected around {eta}]. Track it: {tracking_link}",
    ),
    "arriving_soon": pgettext_lazy(
        "pickup arriving_soon",
        "[{driver_name}|your driver] is [{stops_before} stop(s) away|on the way to you] to "
        "collect a parcel[, expected {eta_window}|, around {eta}]. {tracking_link}",
    ),
    "eta_changed": pgettext_lazy(
        "pickup eta_changed",
        "the collection of order {order} is now expected[ {eta_window}| around {eta}]. "
        "Sorry for the change. {tracking_link}",
    ),
    "delivered": pgettext_lazy(
        "pickup delivered",
        "the parcel of order {order} was collected[, handed over by {recipient}]. Thank you. "
        "{tracking_link}",
    ),
    "failed": pgettext_lazy(
        "pickup failed",
        "we could not collect order {order}[ ({reason})]. We will be in touch to arrange "
        "another time.",
    ),
    "rescheduled": pgettext_lazy(
        "pickup rescheduled",
        "the collection of order {order} is now booked[ for {date}][, {window}]. {tracking_link}",
    ),
}

_SMS_FRAME = "{business}: %(message)s"
_EMAIL_FRAME = "Hello[ {customer_name}],\n\n%(message)s\n\n{business}"


def _frame(channel: str) -> str:
    if channel == "sms":
        return pgettext("customer SMS", "{business}: %(message)s")
    return pgettext("customer email", "Hello[ {customer_name}],\n\n%(message)s\n\n{business}")


class _Defaults(Mapping):
    """Our templates by "<event>.<channel>", each a lazy text in the language active when
    it is used (rendered), not when it is looked up, so a caller may pick the template
    before entering the order's language; a translation that does not parse (a
    translator's slip) gives way to the English."""

    def __init__(self, bodies: dict) -> None:
        self._bodies = bodies
        self._keys = [f"{e}.{c}" for c in ("sms", "email") for e in EVENTS]

    def __getitem__(self, key: str) -> str:
        event, _dot, channel = key.partition(".")
        if event not in self._bodies or channel not in ("sms", "email"):
            raise KeyError(key)
        return _lazy_text(self._bodies[event], channel)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def _text(body, channel: str) -> str:
    try:
        text = _frame(channel) % {"message": str(body)}
        parse(text)
    except (TemplateError, KeyError, ValueError, TypeError):
        with override(None):  # the texts as written here
            english = _SMS_FRAME if channel == "sms" else _EMAIL_FRAME
            text = english % {"message": str(body)}
    return text


_lazy_text = lazy(_text, str)

DEFAULTS: Mapping[str, str] = _Defaults(_BODIES)
PICKUP_DEFAULTS: Mapping[str, str] = _Defaults(_PICKUP_BODIES)

#: Events whose messages are there to give the tracking page's address (the preview warns
#: when an owner's template leaves it out; some shops do not want it, so it is allowed).
LINK_EVENTS = frozenset(EVENTS) - {"failed"}

SAMPLE = {
    "business": "Acme Flowers",
    "customer_name": "Sam",
    "order": "#1042",
    "date": "Tuesday 1 December",
    "window": "09:00-12:00",
    "eta": "10:40",
    "eta_window": "10:15-11:15",
    "tracking_link": "https://example.com/t/abc",
    "driver_name": "Dana",
    "stops_before": "2",
    "reason": "Nobody home",
    "recipient": "Sam Porch",
}


_SAMPLE_DAY = dt.date(2026, 12, 1)  # a Tuesday: SAMPLE's "Tuesday 1 December"


def sample() -> dict[str, str]:
    """SAMPLE as the live preview shows it: the day in the tenant's format and the active
    language, the failure's reason translated (the rest is names, numbers and a link)."""
    return {
        **SAMPLE,
        "date": Formats.of(current_tenant()).date(_SAMPLE_DAY),
        "reason": pgettext("sample reason a delivery failed", "Nobody home"),
    }


def render(source: str, context: dict[str, str], *, one_line: bool = True) -> str:
    """`source` rendered with `context` (an SMS on one line; an email keeps its lines); a
    template with a mistake raises `TemplateError` (a ValueError) saying what to write.
    Our defaults are lazy: they take the language active now."""
    return tidy(fill(str(source), context), one_line=one_line)


def check(source: str) -> list[str]:
    """The problems of an owner's template, in their words ([] when it is fine)."""
    try:
        parse(str(source))
    except TemplateError as exc:
        return exc.problems
    return []


def template_for(settings_row, event: str, channel: str, *, pickup: bool = False) -> str:
    """The tenant's template of `event` on `channel`, else ours; a pickup's: collection
    wording (PICKUP_DEFAULTS)."""
    key = f"{event}.{channel}"
    if pickup:
        return PICKUP_DEFAULTS[key]
    own = (settings_row.templates or {}).get(key)
    return own if isinstance(own, str) and own.strip() else DEFAULTS[key]


def legacy_templates(settings_row) -> dict[str, str]:
    """Old templates migration 0010 could not convert, by key, for the owner to rewrite."""
    legacy = (settings_row.templates or {}).get(LEGACY)
    return {k: v for k, v in legacy.items() if k in DEFAULTS} if isinstance(legacy, dict) else {}


@transaction.atomic
def legacy_templates_keep(settings_row, *, legacy: dict[str, str], forget: set[str]) -> None:
    """After a save of the owner's templates: keep the old unconverted ones (`legacy`) the
    owner has neither rewritten nor chosen to `forget`, so none is lost unseen."""
    templates = {k: v for k, v in (settings_row.templates or {}).items() if k != LEGACY}
    kept = {k: v for k, v in legacy.items() if k not in templates and k not in forget}
    if kept:
        templates[LEGACY] = kept
    if templates != settings_row.templates:
        settings_row.templates = templates
        settings_row.save(update_fields=["templates"])


#: GSM 03.38: characters that fit a 7-bit SMS (the extension ones count twice).
_GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def sms_segments(text: str) -> tuple[int, str]:
    """How many SMS a text takes, and its encoding ("GSM-7" or "UCS-2")."""
    if all(c in _GSM or c in _GSM_EXTENDED for c in text):
        units = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        return (1 if units <= 160 else -(-units // 153)), "GSM-7"
    units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)  # UTF-16 code units
    return (1 if units <= 70 else -(-units // 67)), "UCS-2"


def context_for(
    order,
    *,
    link: str,
    shown,
    promise=None,
    driver: str = "",
    stops_before: int | None = None,
    reason: str = "",
    recipient: str = "",
) -> dict:
    """The template context for `order`; `promise` (`tracking.selectors.Promise`) gives
    the arrival texts, so a message says what the tracking page says."""
    tenant = current_tenant()
    formats = Formats.of(tenant)
    if promise is not None:
        window, date = promise.booked_text, promise.date_text
        driver = driver or promise.driver or ""
        stops_before = promise.stops_before if stops_before is None else stops_before
    else:
        window = ", ".join(formats.span(*w) for w in booked_windows(order, formats))
        date = formats.date(order.delivery_date) if order.delivery_date else ""
    arriving = promise is not None and promise.stage in ("planned", "live")
    return {
        "business": tenant.name,
        "customer_name": (order.customer_name or "").split(" ")[0],
        "order": order.external_id or f"#{order.pk}",
        "date": date,
        "window": window,
        "eta": promise.eta_text if arriving else "",
        "eta_window": promise.window_text if arriving else "",
        "tracking_link": link,
        "driver_name": driver.split(" ")[0] if driver and shown.tracking_show_driver_name else "",
        # none before it is "" so that "[{stops_before} stop(s) away|on the way]" reads right
        "stops_before": str(stops_before)
        if stops_before and shown.tracking_show_stops_before
        else "",
        "reason": reason,
        "recipient": recipient,
    }
