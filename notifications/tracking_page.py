"""The customer's tracking page on the public host, `/t/<token>`: the order's status,
the expected arrival, and, while the driver is on the way to this customer (and the
business allows it), the driver's position, live over `/ws/track/<token>/`.

The token is 256 random bits; unknown tokens are counted per client address and answered
429 past TRACKING_GUESS_LIMIT in ten minutes. A link stops working (410) the tenant's
`tracking_link_ttl_hours` after the delivery ended.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django_tenants.utils import schema_context

ENDED = ("delivered", "failed", "cancelled")
GUESS_WINDOW_S = 600


@dataclass
class LinkState:
    schema: str
    order_id: int
    expired: bool


def link_state(token: str) -> LinkState | None:
    """What a tracking token points at, and whether it has expired; None when unknown."""
    from dispatch.models import Order
    from notifications.services import notification_settings
    from tenants.models import TrackingLink

    link = TrackingLink.objects.select_related("tenant").filter(token=token).first()
    if link is None or link.tenant.status != "active":
        return None
    with schema_context(link.tenant.schema_name):
        order = Order.objects.filter(pk=link.order_id).first()
        if order is None:
            return None
        expired = False
        if order.status in ENDED:
            ended = order.events.filter(to_status=order.status).order_by("-created_at").first()
            ttl = dt.timedelta(hours=notification_settings().tracking_link_ttl_hours)
            expired = ended is not None and ended.created_at + ttl < timezone.now()
    return LinkState(link.tenant.schema_name, link.order_id, expired)


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "?")


def guessing_too_much(request: HttpRequest) -> bool:
    key = f"public:trackguess:{_client(request)}"
    return (cache.get(key) or 0) >= settings.TRACKING_GUESS_LIMIT


def count_a_guess(request: HttpRequest) -> None:
    key = f"public:trackguess:{_client(request)}"
    if not cache.add(key, 1, GUESS_WINDOW_S):
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, GUESS_WINDOW_S)


def tracking_page_view(request: HttpRequest, token: str) -> HttpResponse:
    if guessing_too_much(request):
        return render(request, "notifications/track_gone.html",
                      {"title": "Too many tries", "text": "Please wait a few minutes."},
                      status=429)  # fmt: skip
    state = link_state(token)
    if state is None:
        count_a_guess(request)
        return render(request, "notifications/track_gone.html",
                      {"title": "Link not found", "text": "Check the link in your message."},
                      status=404)  # fmt: skip
    if state.expired:
        return render(request, "notifications/track_gone.html",
                      {"title": "This delivery is over",
                       "text": "The tracking link has expired."}, status=410)  # fmt: skip
    return render(request, "notifications/track.html", page_context(state, token))


def tracking_proof_view(request: HttpRequest, token: str, proof_id: int, kind: str):
    """A picture of this order's own delivery, for the holder of its link: only once it
    is delivered, only while the link lasts, only when the business shows proof."""
    from django.http import Http404

    from notifications.services import notification_settings
    from proofs.models import DeliveryProof
    from proofs.views import proof_file_response

    if guessing_too_much(request):
        return HttpResponse("Too many tries.", status=429, content_type="text/plain")
    state = link_state(token)
    if state is None:
        count_a_guess(request)
        raise Http404("Link not found.")
    if state.expired:
        return HttpResponse("This delivery is over.", status=410, content_type="text/plain")
    with schema_context(state.schema):
        proof = DeliveryProof.objects.filter(
            pk=proof_id, order_id=state.order_id, outcome="delivered",
            order__status="delivered",
        ).first()  # fmt: skip
        if proof is None or not notification_settings().tracking_show_proof:
            raise Http404("No such picture.")
        return proof_file_response(proof, kind)


def page_context(state: LinkState, token: str) -> dict:
    from dispatch.models import Order
    from notifications.services import notification_settings
    from tenants.models import Tenant
    from tracking.consumers import customer_snapshot

    tenant = Tenant.objects.get(schema_name=state.schema)
    with schema_context(state.schema), timezone.override(tenant.time_zone):
        row = notification_settings()
        order = Order.objects.get(pk=state.order_id)
        snapshot = customer_snapshot(order.pk, settings_row=row)
        proof, proof_at = None, ""
        if order.status == "delivered" and row.tracking_show_proof:
            proof = order.proofs.filter(outcome="delivered").order_by("-created_at").first()
        if proof is not None:
            from tenants.formats import Formats

            formats = Formats.of(tenant)
            day = formats.local(proof.created_at).date()
            proof_at = f"{formats.date(day)}, {formats.time(proof.created_at)}"
        return {
            "proof": proof,
            "proof_at": proof_at,
            "headline": snapshot["text"],
            "business": tenant.name,
            "colour": row.brand_colour,
            "order": order,
            "reference": order.external_id or f"#{order.pk}",
            "snapshot": snapshot,
            "token": token,
            "show_map": row.tracking_show_map,
            "time_zone": tenant.time_zone,
            "map_settings": {"RESET_VIEW": False},
        }
