"""The dispatcher's multi-day planning pages: the "Plan several days" form (on the plans
page), and one multi-day plan's page with each day's plan and its publish button. Rules
live in routing.services; these views translate."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import dispatcher_required
from audit.services import current_actor
from dispatch.models import Depot
from routing.models import MultiDayPlan
from routing.services import multi_day, publish
from routing.services.plans import PLAN_SECONDS_RANGE
from tenants.selectors import current_tenant
from tenants.services.formats import Formats


class MultiDayForm(forms.Form):
    first_date = forms.DateField(
        label=gettext_lazy("First day"), widget=forms.DateInput(attrs={"type": "date"})
    )
    days = forms.IntegerField(
        initial=5, min_value=1, max_value=multi_day.MAX_DAYS, label=gettext_lazy("Days")
    )
    depot = forms.ModelChoiceField(
        queryset=Depot.objects.filter(is_active=True),
        required=False,
        label=gettext_lazy("Depot"),
        empty_label=gettext_lazy("Every depot"),
    )
    seconds = forms.FloatField(
        initial=30,
        min_value=PLAN_SECONDS_RANGE[0],
        max_value=PLAN_SECONDS_RANGE[1],
        label=gettext_lazy("Optimiser time (seconds)"),
    )


def multi_day_form(data=None) -> MultiDayForm:
    """The form, empty with tomorrow as its first day, or bound to `data`."""
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    return MultiDayForm(data, initial={"first_date": tomorrow}, prefix="several")


@dispatcher_required
def multi_day_create_view(request: HttpRequest) -> HttpResponse:
    """GET: the form alone; POST: queue the plan and show its page, or the form again with
    what is wrong (400)."""
    form = multi_day_form(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            multi = multi_day.multi_day_create(**form.cleaned_data, created_by=request.user)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            return redirect("dashboard:multi-day-detail", multi_id=multi.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "routing/multi_day_new.html", {"form": form}, status=status)


def _context(multi: MultiDayPlan) -> dict:
    days = multi_day.multi_day_days(multi)
    planned = [d for d in days if d.plan is not None]
    skipped = [d for d in days if d.plan is None and d.published]
    formats = Formats.of(current_tenant())
    return {
        "multi": multi,
        "progress": multi_day.multi_day_progress(multi),
        "days": days,
        "skipped": skipped,
        # One value for the translated sentence that lists them.
        "skipped_days": ", ".join(formats.day(d.date, style="short") for d in skipped),
        "total": {
            "orders": sum(d.orders for d in planned),
            "routes": sum(d.routes for d in planned),
            "distance_m": sum(d.distance_m for d in planned),
            "duration_s": sum(d.duration_s for d in planned),
            "left_out": sum(d.left_out for d in planned),
        },
    }


@dispatcher_required
def multi_day_detail_view(request: HttpRequest, multi_id: int) -> HttpResponse:
    multi = get_object_or_404(MultiDayPlan.objects.select_related("depot"), pk=multi_id)
    return render(request, "routing/multi_day_detail.html", _context(multi))


@dispatcher_required
def multi_day_status_view(request: HttpRequest, multi_id: int) -> HttpResponse:
    """The status line, polled while the days are being solved; when the solve ends the
    page reloads to show the days."""
    multi = get_object_or_404(MultiDayPlan, pk=multi_id)
    response = render(request, "routing/multi_day_status.html", _context(multi))
    busy = multi.status in (MultiDayPlan.Status.QUEUED, MultiDayPlan.Status.SOLVING)
    if not busy and request.GET.get("was") == "busy":
        response["HX-Refresh"] = "true"
    return response


@dispatcher_required
@require_POST
def multi_day_publish_view(request: HttpRequest, multi_id: int) -> HttpResponse:
    """Publish one day's plan (the plan page's publish, back to this page). With
    `revision` (what the page showed), a plan changed since is refused."""
    multi = get_object_or_404(MultiDayPlan, pk=multi_id)
    try:
        plan_id = int(request.POST.get("plan", ""))
        revision = int(request.POST["revision"]) if request.POST.get("revision") else None
    except ValueError:
        messages.error(request, _("Choose a day's plan to publish."))
        return redirect("dashboard:multi-day-detail", multi_id=multi.pk)
    plan = multi.plans.filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    try:
        publish.plan_publish(plan=plan, actor=current_actor(), revision=revision)
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
    else:
        messages.success(
            request,
            # "Mon 07 Dec", the day and month names in the page's language
            _("Published %(day)s: drivers have their routes.")
            % {"day": date_format(plan.date, "D d M")},
        )
    return redirect("dashboard:multi-day-detail", multi_id=multi.pk)
