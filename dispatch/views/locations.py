"""Where orders are: the dashboard's address type-ahead (order form, CSV review), an
order's pin moved on its map, and a location picked for an address in the CSV review.
JSON for the page's script (static/js/address_search.js, static/js/order_pin.js); the same
error shape as the API's."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import dispatcher_required
from dispatch.forms import AddressSearchForm, LocationForm, LocationRememberForm
from dispatch.models import LocationCorrection, Order
from dispatch.selectors.locations import address_candidates
from dispatch.services import locations as location_services
from tenants.selectors import current_tenant


def _invalid(errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse(
        {"detail": "Invalid input.", "code": "invalid", "errors": errors}, status=400
    )


def _form_errors(form) -> dict[str, list[str]]:
    return {
        field: [e["message"] for e in errs] for field, errs in form.errors.get_json_data().items()
    }


@dispatcher_required
@require_GET
def address_search_view(request: HttpRequest) -> JsonResponse:
    """Candidates for what is typed, from this business's corrections and road region."""
    form = AddressSearchForm(request.GET)
    if not form.is_valid():
        return _invalid(_form_errors(form))
    answer = address_candidates(query=form.cleaned_data["q"], limit=form.cleaned_data["limit"] or 5)
    return JsonResponse(
        {
            "region": answer.region,
            "results": [c.as_dict() for c in answer.results],
            "message": answer.message,
            "attribution": answer.attribution,
        }
    )


def _order_location(order: Order) -> dict:
    return {
        "id": order.pk,
        "lat": order.lat,
        "lng": order.lng,
        "geocode_status": order.geocode_status,
        "geocode_status_display": order.get_geocode_status_display(),
        "address": order.address_text(),
    }


@dispatcher_required
@require_POST
def order_locate_view(request: HttpRequest, order_id: int) -> JsonResponse:
    """The order's pin dropped here: the order moves, and its address is remembered here."""
    order = get_object_or_404(Order, pk=order_id)
    form = LocationForm(request.POST)
    if not form.is_valid():
        return _invalid(_form_errors(form))
    before = _order_location(order)
    try:
        order = location_services.order_locate(
            order=order,
            lat=form.cleaned_data["lat"],
            lng=form.cleaned_data["lng"],
            label=form.cleaned_data["label"],
        )
    except ValidationError as exc:
        return _invalid(exc.message_dict if hasattr(exc, "error_dict") else {"order": exc.messages})
    return JsonResponse(
        {"order": _order_location(order), "before": before, "remembered": bool(order.address_line1)}
    )


@dispatcher_required
@require_POST
def location_remember_view(request: HttpRequest) -> JsonResponse:
    """A search result picked for an address of a CSV file under review: orders to this
    address (those the file is about to create too) are placed there."""
    form = LocationRememberForm(request.POST)
    if not form.is_valid():
        return _invalid(_form_errors(form))
    data = form.cleaned_data
    try:
        correction = location_services.location_remember(
            line1=data["address_line1"],
            postcode=data["postcode"],
            city=data["city"],
            country=data["country"].upper() or current_tenant().country,
            lat=data["lat"],
            lng=data["lng"],
            label=data["label"],
            source=LocationCorrection.Source.SEARCH,
        )
    except ValidationError as exc:
        return _invalid(exc.message_dict)
    return JsonResponse(
        {
            "address": correction.address,
            "lat": correction.lat,
            "lng": correction.lng,
            "label": correction.label,
        }
    )
