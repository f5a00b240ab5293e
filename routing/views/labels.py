"""Parcel labels to print, as PDF: one route's (`?size=a4|4x6`) or a whole plan's.
What a label holds and how it is drawn is routing.services.labels'; these views translate."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.decorators import dispatcher_required
from routing.models import Plan, PlanRoute
from routing.services import labels


def _size(request: HttpRequest) -> str | None:
    """The label size asked for (A4 sheets by default); None for one we do not print."""
    size = request.GET.get("size") or labels.DEFAULT_SIZE
    return size if size in labels.LABEL_SIZES else None


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _bad_size() -> HttpResponse:
    sizes = _(" or ").join(labels.LABEL_SIZES)
    return HttpResponseBadRequest(
        _("size must be %(sizes)s.") % {"sizes": sizes}, content_type="text/plain"
    )


@dispatcher_required
@require_GET
def route_labels_view(request: HttpRequest, plan_id: int, route_id: int) -> HttpResponse:
    """The labels of one route's orders, in driving order."""
    route = get_object_or_404(
        PlanRoute.objects.select_related("plan", "driver"), plan_id=plan_id, pk=route_id
    )
    size = _size(request)
    if size is None:
        return _bad_size()
    name = f"labels-{route.plan.date}-plan-{route.plan_id}-route-{route.pk}-{size}.pdf"
    return _pdf(labels.route_labels_pdf(route, size=size), name)


@dispatcher_required
@require_GET
def plan_labels_view(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The labels of every route of the plan, each route from a new page."""
    plan = get_object_or_404(Plan, pk=plan_id)
    size = _size(request)
    if size is None:
        return _bad_size()
    return _pdf(
        labels.plan_labels_pdf(plan, size=size), f"labels-{plan.date}-plan-{plan.pk}-{size}.pdf"
    )
