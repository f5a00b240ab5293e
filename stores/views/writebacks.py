"""What was written back to the stores: the Stores page's section (the failed write-backs
of the last 30 days, how many are waiting and done) and trying a failed one again, from
that page or from the order's page."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import dispatcher_required
from stores.models import WriteBack
from stores.services import writeback as writeback_services

#: How far back the Stores page lists failed write-backs.
RECENT = dt.timedelta(days=30)


def section(request: HttpRequest) -> dict:
    """The failed write-backs of the last 30 days (newest first), and the counts."""
    since = timezone.now() - RECENT
    recent = WriteBack.objects.filter(created_at__gte=since)
    counts = recent.aggregate(
        pending=Count(
            "pk", filter=Q(status__in=(WriteBack.Status.PENDING, WriteBack.Status.RUNNING))
        ),
        done=Count("pk", filter=Q(status=WriteBack.Status.DONE)),
        failed_count=Count("pk", filter=Q(status=WriteBack.Status.FAILED)),
    )
    failed = list(
        recent.filter(status=WriteBack.Status.FAILED)
        .select_related("order")
        .order_by("-done_at", "-pk")[:50]
    )
    return {"failed": failed, "days": RECENT.days, **counts}


@dispatcher_required
@require_POST
def writeback_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Try a failed write-back again (after the owner fixed what was wrong)."""
    found = get_object_or_404(WriteBack, pk=pk)
    if found.status != WriteBack.Status.FAILED:
        messages.info(request, _("That store update is not failed: nothing to try again."))
    else:
        writeback_services.retry(writeback=found)
        messages.success(
            request,
            _("The update of order #%(id)s to %(store)s will be tried again in a moment.")
            % {"id": found.order_id, "store": found.store},
        )
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("dashboard:order-detail", order_id=found.order_id)


urlpatterns = [
    path("writebacks/<int:pk>/retry/", writeback_retry_view, name="store-writeback-retry"),
]
