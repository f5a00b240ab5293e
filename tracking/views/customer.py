"""The customer's tracking page on the public host, `/t/<token>`: the order's status,
the expected arrival, and, while the driver is on the way to this customer (and the
business allows it), the driver's position, live over `/ws/track/<token>/`.

The token is 256 random bits; unknown tokens are counted per client address and answered
429 past TRACKING_GUESS_LIMIT in ten minutes. A link stops working (410) the tenant's
`tracking_link_ttl_hours` after the delivery ended.

Once delivered, the page asks for a rating (1-5 stars, a comment), posted to
`/t/<token>/rating` as a plain form (answered with a redirect back to the page, which then
thanks them) or, from the page's script, with `Accept: application/json`.

The page wears the business's brand (tracking.services.brand): its colours, its name and
its logo, served at `/t/<token>/logo/<content hash>.png`. The same pages answer on the
business's own tracking host (config/urls_tracking.py), where only its own links are found.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tenants.utils import schema_context

from core.http import client_ip, wants_json
from dispatch.models import Order
from tenants.models import Tenant
from tenants.services.formats import Formats
from tracking.selectors import (
    LinkState,
    collection_of,
    customer_snapshot,
    link_language,
    link_state,
    order_rating,
    tracking_settings,
)
from tracking.services.brand import Brand, current_brand, logo_response
from tracking.services.paths import customer_path
from tracking.services.rating import COMMENT_MAX, rating_submit

GUESS_WINDOW_S = 600


def _client(request: HttpRequest) -> str:
    return client_ip(request) or "?"


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


def _host_tenant(request: HttpRequest) -> Tenant | None:
    """The business whose own tracking host this is (None on the platform's host)."""
    tenant = getattr(request, "tenant", None)
    return tenant if getattr(tenant, "on_tracking_host", False) else None


def brand_for(tenant: Tenant, token: str = "") -> tuple[Brand, str]:
    """The tenant's brand, and its logo's address under `token` ("" without either)."""
    with schema_context(tenant.schema_name):
        brand = current_brand(business=tenant.name)
    logo_url = ""
    if brand.logo and token:
        logo_url = reverse("track-logo", kwargs={"token": token, "digest": brand.logo_hash})
    return brand, logo_url


def gone(
    request: HttpRequest,
    *,
    title: str,
    text: str,
    status: int,
    tenant: Tenant | None = None,
    token: str = "",
) -> HttpResponse:
    """The page of a link that shows nothing (unknown, expired, too many tries), in the
    business's colours when the business is known."""
    context: dict = {"title": title, "text": text}
    tenant = tenant or _host_tenant(request)
    if tenant is not None:
        context["brand"], context["logo_url"] = brand_for(tenant, token)
    return render(request, "tracking/track_gone.html", context, status=status)


def _link_refused(request: HttpRequest, token: str) -> tuple[LinkState | None, HttpResponse | None]:
    """The link's state, or the page that answers a client guessing, an unknown link or
    an expired one (the tracking page's answers, for the page and its rating alike)."""
    if guessing_too_much(request):
        return None, gone(
            request, title=_("Too many tries"), text=_("Please wait a few minutes."), status=429
        )
    state = link_state(token)
    if state is None:
        count_a_guess(request)
        return None, gone(
            request,
            title=_("Link not found"),
            text=_("Check the link in your message."),
            status=404,
        )
    if state.expired:
        return None, gone(
            request,
            title=_("This delivery is over"),
            text=_("The tracking link has expired."),
            status=410,
            tenant=Tenant.objects.get(schema_name=state.schema),
            token=token,
        )
    return state, None


def for_this_host(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """On a business's own tracking host, a link of another business is not found there
    (counted as a guess, as an unknown link is); on the platform's host, every link is."""

    @wraps(view)
    def wrapped(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        tenant = _host_tenant(request)
        if tenant is not None:
            state = link_state(token)
            if state is not None and state.schema != tenant.schema_name:
                count_a_guess(request)
                if wants_json(request) or request.path.endswith("/path"):
                    return JsonResponse({"error": "not_found"}, status=404)
                return gone(
                    request,
                    title=_("Link not found"),
                    text=_("Check the link in your message."),
                    status=404,
                )
        return view(request, token, *args, **kwargs)

    wrapped.for_this_host = True  # what tests/tracking/test_custom_domain.py checks
    return wrapped


def tracking_logo_view(request: HttpRequest, token: str, digest: str) -> HttpResponse:
    """`/t/<token>/logo/<hash>.png`: the logo of the business whose link this is (an
    expired link's too: its page still wears the brand), no sign-in needed; cached for a
    year, a new logo having a new hash."""
    if guessing_too_much(request):
        return HttpResponse(status=429)
    state = link_state(token)
    if state is None:
        count_a_guess(request)
        return HttpResponse(status=404)
    tenant = Tenant.objects.get(schema_name=state.schema)
    brand, _logo_url = brand_for(tenant)
    return logo_response(brand, digest)


def tracking_page_view(request: HttpRequest, token: str) -> HttpResponse:
    state, refused = _link_refused(request, token)
    if refused is not None:
        return refused
    # the order's language, not the visitor's: the page, its dates, its script's catalog
    with translation.override(link_language(state)):
        return render(request, "tracking/track.html", page_context(state, token))


@require_POST
def tracking_rating_view(request: HttpRequest, token: str) -> HttpResponse:
    """`POST /t/<token>/rating` (`stars`, `comment`): the customer rates their delivery,
    once. A form post is sent back to the page (thanked there); bad input shows the page
    again with the field's error (400). With `Accept: application/json`: 201 or 400 with
    field errors."""
    state, refused = _link_refused(request, token)
    if refused is not None:
        if wants_json(request):
            error = {404: "not_found", 410: "expired", 429: "too_many_tries"}
            return JsonResponse({"error": error[refused.status_code]}, status=refused.status_code)
        return refused
    try:
        # the order's language, as the page's: its field errors are shown there
        with schema_context(state.schema), translation.override(link_language(state)):
            rating = rating_submit(
                order_id=state.order_id,
                stars=request.POST.get("stars"),
                comment=request.POST.get("comment", ""),
            )
    except ValidationError as error:
        errors = {field: list(texts) for field, texts in error.message_dict.items()}
        if wants_json(request):
            return JsonResponse({"errors": errors}, status=400)
        with translation.override(link_language(state)):  # the order's, as the page's
            context = page_context(state, token)
            context.update(
                rating_errors={("form" if k == "__all__" else k): v for k, v in errors.items()},
                rating_comment=request.POST.get("comment", "")[: COMMENT_MAX * 2],
            )
            return render(request, "tracking/track.html", context, status=400)
    if wants_json(request):
        return JsonResponse({"stars": rating.stars}, status=201)
    return redirect(f"{reverse('track', kwargs={'token': token})}#track-rating")


def tracking_path_view(request: HttpRequest, token: str) -> JsonResponse:
    """`/t/<token>/path`: the road path from the van to this customer's address, while the
    driver is on the way to them (`{"legs": []}` otherwise). The page asks again at most
    every `every_s` as the van moves."""
    if guessing_too_much(request):
        return JsonResponse({"error": "too_many_tries"}, status=429)
    state = link_state(token)
    if state is None:
        count_a_guess(request)
        return JsonResponse({"error": "not_found"}, status=404)
    if state.expired:
        return JsonResponse({"error": "expired"}, status=410)
    tenant = Tenant.objects.get(schema_name=state.schema)
    with schema_context(state.schema):
        path = customer_path(state.order_id, tenant=tenant)
    return JsonResponse(path or {"legs": []})


def _delivery_reference(order: Order) -> str:
    """For a pickup: the reference of the order it is collected for (read here, in the
    tenant's schema: the template renders outside it)."""
    pair = getattr(order, "pair_as_pickup", None) if order.kind == Order.Kind.PICKUP else None
    if pair is None:
        return ""
    return pair.delivery.external_id or f"#{pair.delivery_id}"


def page_context(state: LinkState, token: str) -> dict:
    tenant = Tenant.objects.get(schema_name=state.schema)
    brand, logo_url = brand_for(tenant, token)
    with schema_context(state.schema), timezone.override(tenant.time_zone):
        row = tracking_settings()
        order = Order.objects.get(pk=state.order_id)
        snapshot = customer_snapshot(order.pk, settings_row=row)
        path = customer_path(order.pk, tenant=tenant) if snapshot["position"] else None
        proof, proof_at = None, ""
        if order.status == "delivered" and row.tracking_show_proof:
            proof = order.proofs.filter(outcome="delivered").order_by("-created_at").first()
        if proof is not None:
            formats = Formats.of(tenant)
            day = formats.local(proof.created_at).date()
            proof_at = f"{formats.date(day)}, {formats.time(proof.created_at)}"
        collection = collection_of(order)  # a delivery collected first somewhere else
        collected_at = ""
        if collection is not None and collection.collected_at is not None:
            collected_at = Formats.of(tenant).time(collection.collected_at)
        return {
            "collection": collection,
            "collected_at": collected_at,
            "is_pickup": order.kind == Order.Kind.PICKUP,
            "collected_for": _delivery_reference(order),
            "proof": proof,
            "proof_at": proof_at,
            "headline": snapshot["text"],
            "business": tenant.name,
            "brand": brand,
            "logo_url": logo_url,
            "colour": brand.colour,
            "order": order,
            "reference": order.external_id or f"#{order.pk}",
            "snapshot": snapshot,
            "path": path or {"legs": []},
            "token": token,
            "show_map": row.tracking_show_map,
            "time_zone": tenant.time_zone,
            "map_settings": {"RESET_VIEW": False},
            "rating": order_rating(order.pk),
            "comment_max": COMMENT_MAX,
        }
