"""Dispatch alerts (orders auto-dispatch could not place, nightly plans that failed):
marked seen from the board or the overview. Rules live in routing.services.auto_dispatch."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import dispatcher_required
from audit.services import current_actor
from core.http import wants_json
from routing.services.auto_dispatch import alerts_seen


@dispatcher_required
@require_POST
def alerts_seen_view(request: HttpRequest) -> HttpResponse:
    """`alert` (one or more ids): those alerts are marked seen. Answers 400 with field
    errors for ids that are not numbers; ids of no alert are ignored (another dispatcher
    may have cleared them). Back to `next` (a page of this site), else the overview."""
    raw = request.POST.getlist("alert")
    if not raw or not all(value.strip().isdigit() and len(value) < 19 for value in raw):
        return JsonResponse(
            {"errors": {"alert": [_("Give the alerts' ids (numbers).")]}}, status=400
        )
    marked = alerts_seen(alert_ids=[int(value) for value in raw], actor=current_actor())
    if wants_json(request):
        return JsonResponse({"marked": marked})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("dashboard:home")
    return redirect(target)
