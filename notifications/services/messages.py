"""What customers read: templates per event and channel (the tenant's, else these), in
Django's template language over a plain context of strings (no objects, so a template
can reach nothing else), and the SMS segment count the dashboard shows.

The context (documented in the README):
  business        the tenant's name
  customer        the customer's first name
  order           the order's reference (external id, else #id)
  date            the delivery day, e.g. "Tuesday 1 December"
  window          the window the customer booked, e.g. "09:00-12:00" ("" when none)
  eta             the expected arrival, e.g. "10:40" ("" when unknown)
  eta_window      the arrival window promised around it, e.g. "10:15-11:15" ("" when
                  unknown; its width is a setting). It is the tracking page's window to
                  the letter, and says so when it falls outside the booked window:
                  "12:10-13:10 (later than the 09:00-12:00 you booked)"

Times are in the tenant's time zone and its locale's format ("14:05", "2:05 PM").
  link            the tracking page's address
  driver          the driver's first name ("" when the tenant hides it)
  stops_before    stops before this one, as text ("" when hidden or unknown)
  reason          why a delivery failed ("" otherwise)
  recipient       who took the parcel, from the proof of delivery ("" when not recorded)
"""

from __future__ import annotations

from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader_tags import ExtendsNode, IncludeNode

from tenants.selectors import current_tenant
from tenants.services.formats import Formats
from tracking.selectors import booked_windows

DEFAULTS = {
    "confirmed.sms": (
        "{{ business }}: order {{ order }} is booked for {{ date }}"
        "{% if window %}, {{ window }}{% endif %}. Track it: {{ link }}"
    ),
    "out_for_delivery.sms": (
        "{{ business }}: your order {{ order }} is on its way"
        "{% if eta_window %}, expected {{ eta_window }}{% elif eta %}, expected around {{ eta }}"
        "{% endif %}. Track it: {{ link }}"
    ),
    "arriving_soon.sms": (
        "{{ business }}: {% if driver %}{{ driver }}{% else %}your driver{% endif %} is "
        "{% if stops_before and stops_before != '0' %}{{ stops_before }} stop(s) away"
        "{% else %}on the way to you{% endif %}{% if eta_window %}, expected {{ eta_window }}"
        "{% elif eta %}, around {{ eta }}{% endif %}. "
        "{{ link }}"
    ),
    "eta_changed.sms": (
        "{{ business }}: order {{ order }} is now expected {% if eta_window %}{{ eta_window }}"
        "{% else %}around {{ eta }}{% endif %}. Sorry for the change. {{ link }}"
    ),
    "delivered.sms": (
        "{{ business }}: order {{ order }} was delivered"
        "{% if recipient %} to {{ recipient }}{% endif %}. Proof of delivery: {{ link }}"
    ),
    "failed.sms": (
        "{{ business }}: we could not deliver order {{ order }}"
        "{% if reason %} ({{ reason }}){% endif %}. We will be in touch to arrange another time."
    ),
    "rescheduled.sms": (
        "{{ business }}: order {{ order }} is now booked for {{ date }}"
        "{% if window %}, {{ window }}{% endif %}. {{ link }}"
    ),
}
for _key in list(DEFAULTS):
    DEFAULTS[_key.replace(".sms", ".email")] = (
        "Hello {{ customer }},\n\n" + DEFAULTS[_key].split(": ", 1)[1] + "\n\n{{ business }}"
    )

#: A pickup (the first half of a pickup-and-delivery pair) is a collection: its contact
#: hands a parcel over. The tenant's own templates are written for deliveries, so a
#: pickup's messages are these.
PICKUP_DEFAULTS = {
    "confirmed.sms": (
        "{{ business }}: we will collect a parcel (order {{ order }}) from you on {{ date }}"
        "{% if window %}, {{ window }}{% endif %}. Track the collection: {{ link }}"
    ),
    "out_for_delivery.sms": (
        "{{ business }}: our driver comes to collect order {{ order }} today"
        "{% if eta_window %}, expected {{ eta_window }}{% elif eta %}, expected around {{ eta }}"
        "{% endif %}. Track it: {{ link }}"
    ),
    "arriving_soon.sms": (
        "{{ business }}: {% if driver %}{{ driver }}{% else %}your driver{% endif %} is "
        "{% if stops_before and stops_before != '0' %}{{ stops_before }} stop(s) away"
        "{% else %}on the way to you{% endif %} to collect a parcel"
        "{% if eta_window %}, expected {{ eta_window }}"
        "{% elif eta %}, around {{ eta }}{% endif %}. {{ link }}"
    ),
    "eta_changed.sms": (
        "{{ business }}: the collection of order {{ order }} is now expected "
        "{% if eta_window %}{{ eta_window }}{% else %}around {{ eta }}{% endif %}. "
        "Sorry for the change. {{ link }}"
    ),
    "delivered.sms": (
        "{{ business }}: the parcel of order {{ order }} was collected"
        "{% if recipient %}, handed over by {{ recipient }}{% endif %}. Thank you. {{ link }}"
    ),
    "failed.sms": (
        "{{ business }}: we could not collect order {{ order }}"
        "{% if reason %} ({{ reason }}){% endif %}. We will be in touch to arrange another time."
    ),
    "rescheduled.sms": (
        "{{ business }}: the collection of order {{ order }} is now booked for {{ date }}"
        "{% if window %}, {{ window }}{% endif %}. {{ link }}"
    ),
}
for _key in list(PICKUP_DEFAULTS):
    PICKUP_DEFAULTS[_key.replace(".sms", ".email")] = (
        "Hello {{ customer }},\n\n" + PICKUP_DEFAULTS[_key].split(": ", 1)[1] + "\n\n{{ business }}"
    )

SAMPLE = {
    "business": "Acme Flowers",
    "customer": "Sam",
    "order": "#1042",
    "date": "Tuesday 1 December",
    "window": "09:00-12:00",
    "eta": "10:40",
    "eta_window": "10:15-11:15",
    "link": "https://example.com/t/abc",
    "driver": "Dana",
    "stops_before": "2",
    "reason": "",
    "recipient": "Sam Porch",
}

_engine = Engine(autoescape=False)  # default filters only; no custom tags, no loaders


def render(source: str, context: dict[str, str], *, one_line: bool = True) -> str:
    """`source` rendered with `context` (an SMS on one line; an email keeps its lines); a
    broken template raises ValueError, as does one that reaches for other templates
    (`{% include %}`, `{% extends %}`: a message is one template, with no files behind it;
    the settings refuse such a template when it is saved)."""
    try:
        template = _engine.from_string(source)
        if template.nodelist.get_nodes_by_type((ExtendsNode, IncludeNode)):
            raise ValueError("Template error: templates cannot include or extend other templates.")
        text = template.render(Context(context))
    except (TemplateSyntaxError, TemplateDoesNotExist) as exc:
        raise ValueError(f"Template error: {exc}") from exc
    return " ".join(text.split()) if one_line else text.strip()


def template_for(settings_row, event: str, channel: str, *, pickup: bool = False) -> str:
    """The tenant's template of `event` on `channel`, else ours; a pickup's: collection
    wording (PICKUP_DEFAULTS)."""
    key = f"{event}.{channel}"
    if pickup:
        return PICKUP_DEFAULTS[key]
    return (settings_row.templates or {}).get(key) or DEFAULTS[key]


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
        "customer": (order.customer_name or "").split(" ")[0],
        "order": order.external_id or f"#{order.pk}",
        "date": date,
        "window": window,
        "eta": promise.eta_text if arriving else "",
        "eta_window": promise.window_text if arriving else "",
        "link": link,
        "driver": driver.split(" ")[0] if driver and shown.tracking_show_driver_name else "",
        "stops_before": str(stops_before)
        if stops_before is not None and shown.tracking_show_stops_before
        else "",
        "reason": reason,
        "recipient": recipient,
    }
