"""The dashboard's home: the operations overview of today (in the business's time zone),
read from the board's model (routing.services.overview.day_overview), each item a link into the
board; tomorrow's state; the set-up checklist while it is not complete."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import dispatcher_required
from dispatch.selectors import setup_checklist
from routing.models import Plan
from routing.selectors import dispatch_alerts
from routing.services.overview import day_outlook, day_overview
from tenants.selectors import current_tenant


@dispatcher_required
def overview_view(request: HttpRequest) -> HttpResponse:
    tenant = current_tenant()
    today = timezone.localdate()
    checklist = setup_checklist(tenant=tenant)
    return render(
        request,
        "tracking/overview.html",
        {
            "tenant": tenant,
            "today": day_overview(today, now=timezone.now()),
            "tomorrow": day_outlook(today + dt.timedelta(days=1)),
            "checklist": checklist,
            "setup_done": all(item.done for item in checklist),
            "has_plans": Plan.objects.exists(),
            "alerts": dispatch_alerts([today, today + dt.timedelta(days=1)]),
        },
    )
