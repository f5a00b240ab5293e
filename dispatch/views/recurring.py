"""The dispatcher's recurring orders: the schedules with their next days, a form (the
order's fields and a rule builder: every N days / weeks / months, weekdays, or an RRULE)
with a live preview of its days, a schedule's page with its days to skip or move, and
cancelling. Every rule is the services'; the form only collects text."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.decorators import dispatcher_required
from audit.services import current_actor
from core.forms import flash_service_errors
from dispatch.forms import OrderForm
from dispatch.models import (
    IdempotencyRecord,
    Order,
    OrderStatus,
    RecurrenceException,
    RecurringOrder,
)
from dispatch.selectors.recurring import (
    WEEKDAYS,
    recurring_list,
    recurring_next,
    recurring_orders_made,
    rule_describe,
    rule_preview,
)
from dispatch.services import recurring as services

FREQUENCIES = [
    ("DAILY", gettext_lazy("days")),
    ("WEEKLY", gettext_lazy("weeks")),
    ("MONTHLY", gettext_lazy("months")),
]
#: How a day is written in a message ("Mon 07 Dec"), in the page's language.
SHORT_DAY = "D d M"
NEXT_ON_LIST = 3
NEXT_ON_PAGE = 10


class RecurringForm(OrderForm):
    """A schedule: its name, its days (built, or an RRULE), and the order it makes."""

    name = forms.CharField(
        max_length=150,
        label=gettext_lazy("Schedule name"),
        help_text=gettext_lazy("e.g. Café Rosa, bread"),
    )
    interval = forms.IntegerField(
        label=gettext_lazy("Every"), min_value=1, max_value=366, initial=1, widget=forms.NumberInput
    )
    frequency = forms.ChoiceField(label=gettext_lazy("Unit"), choices=FREQUENCIES, initial="WEEKLY")
    weekdays = forms.MultipleChoiceField(
        label=gettext_lazy("On"),
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Weekly: the days of the week (none: the start day's)."),
    )
    starts_on = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput({"type": "date"})
    )
    ends_on = forms.DateField(
        label=gettext_lazy("Until"),
        required=False,
        widget=forms.DateInput({"type": "date"}),
        help_text=gettext_lazy("Empty: until cancelled."),
    )
    lead_days = forms.IntegerField(
        label=gettext_lazy("Days ahead"),
        min_value=0,
        max_value=services.MAX_LEAD_DAYS,
        initial=7,
        help_text=gettext_lazy(
            "Each order is made this many days before its day (then it is in the "
            "order list, to plan)."
        ),
    )
    #: One value per form shown: a second submit of it (a double click) makes nothing more.
    submission = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    advanced_rule = forms.CharField(
        label=gettext_lazy("Rule (RRULE)"),
        required=False,
        max_length=500,
        help_text=gettext_lazy(
            "RFC 5545, e.g. FREQ=MONTHLY;BYDAY=1MO (the first Monday). "
            "Filled in, it is used instead of the choices above."
        ),
    )
    SCHEDULE = (
        "name",
        "interval",
        "frequency",
        "weekdays",
        "starts_on",
        "ends_on",
        "lead_days",
        "advanced_rule",
        "submission",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in services.NOT_IN_TEMPLATE:  # the schedule gives each order its day and id
            self.fields.pop(name, None)
        self.order_fields([*self.SCHEDULE, *(f for f in self.fields if f not in self.SCHEDULE)])

    def rule(self) -> str:
        data = self.cleaned_data
        if data.get("advanced_rule", "").strip():
            return data["advanced_rule"].strip()
        parts = [f"FREQ={data.get('frequency') or 'WEEKLY'}"]
        if (data.get("interval") or 1) > 1:
            parts.append(f"INTERVAL={data['interval']}")
        days = [code for code, _ in WEEKDAYS if code in (data.get("weekdays") or [])]
        if data.get("frequency") == "WEEKLY" and days:
            parts.append("BYDAY=" + ",".join(days))
        return ";".join(parts)

    def to_schedule(self) -> dict[str, Any]:
        template = self.to_order_data()
        for name in self.SCHEDULE:
            template.pop(name, None)
        data = self.cleaned_data
        return {
            "name": data["name"],
            "rule": self.rule(),
            "starts_on": data["starts_on"],
            "ends_on": data.get("ends_on"),
            "lead_days": data["lead_days"],
            "template": template,
        }

    def add_schedule_errors(self, errors: dict[str, list[str]]) -> None:
        order_errors = {}
        for name, messages_ in errors.items():
            if name.startswith("template."):
                order_errors[name.removeprefix("template.")] = messages_
                continue
            if name == "rule":
                name = "advanced_rule" if self.cleaned_data.get("advanced_rule") else "frequency"
            for message in messages_:
                self.add_error(name if name in self.fields else None, message)
        self.add_service_errors(order_errors)

    @classmethod
    def initial_for(cls, recurring: RecurringOrder) -> dict[str, Any]:
        columns = {f.name for f in Order._meta.concrete_fields}
        order = Order(**{k: v for k, v in recurring.template.items() if k in columns})
        initial = OrderForm.initial_from(order)
        initial.update(_pickup_initial(recurring.template.get("pickup")))
        initial.update(
            name=recurring.name,
            starts_on=recurring.starts_on,
            ends_on=recurring.ends_on,
            lead_days=recurring.lead_days,
        )
        parts = dict(p.split("=", 1) for p in recurring.rule.split(";"))
        days = parts.get("BYDAY", "").split(",") if parts.get("BYDAY") else []
        simple = (
            set(parts) <= {"FREQ", "INTERVAL", "BYDAY"}
            and parts["FREQ"] in dict(FREQUENCIES)
            and all(d in dict(WEEKDAYS) for d in days)
            and (not days or parts["FREQ"] == "WEEKLY")
        )
        if simple:
            initial.update(
                frequency=parts["FREQ"], interval=int(parts.get("INTERVAL", 1)), weekdays=days
            )
        else:
            initial["advanced_rule"] = recurring.rule
        return initial


def _submission(key: str) -> IdempotencyRecord | None:
    """The create form's submission, locked (a concurrent second submit waits for the
    first to finish, then finds its answer); None for a form sent without one."""
    if not key:
        return None
    lookup = {"principal": current_actor()[:64], "endpoint": "dashboard.recurring", "key": key}
    IdempotencyRecord.objects.bulk_create(
        [IdempotencyRecord(**lookup, request_sha256="")], ignore_conflicts=True
    )
    return IdempotencyRecord.objects.select_for_update().get(**lookup)


def _pickup_initial(pickup: Any) -> dict[str, Any]:
    """The form's "Collect first from…" fields from a template's `pickup` (as sent)."""
    if not isinstance(pickup, dict):
        return {}
    fields = RecurringForm.base_fields
    initial = {f"pickup_{k}": v for k, v in pickup.items() if f"pickup_{k}" in fields}
    windows = pickup.get("time_windows") or []
    if windows and isinstance(windows[0], dict):
        initial["pickup_window_start"] = windows[0].get("start", "")
        initial["pickup_window_end"] = windows[0].get("end", "")
    seconds = pickup.get("service_s")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        initial["pickup_service_minutes"] = round(seconds / 60, 1)
    return initial


def _form(request: HttpRequest, **kwargs: Any) -> RecurringForm:
    return RecurringForm(
        request.POST or None, address_search_url=reverse("dashboard:address-search"), **kwargs
    )


def _form_context(form: RecurringForm, recurring: RecurringOrder | None) -> dict[str, Any]:
    return {"form": form, "recurring": recurring, "schedule_fields": RecurringForm.SCHEDULE}


def _flash(request: HttpRequest, outcome: services.Outcome, done: str) -> None:
    messages.success(request, " ".join([done, *outcome.notes()]))


@dispatcher_required
def recurring_list_view(request: HttpRequest) -> HttpResponse:
    schedules = list(recurring_list())
    rows = [
        {
            "schedule": s,
            "description": rule_describe(s.rule),
            "next": recurring_next(s, count=NEXT_ON_LIST) if s.is_active else [],
        }
        for s in schedules
    ]
    rows.sort(key=lambda row: not row["schedule"].is_active)  # the active first
    return render(request, "dispatch/recurring/list.html", {"rows": rows})


@dispatcher_required
def recurring_create_view(request: HttpRequest) -> HttpResponse:
    form = _form(
        request,
        initial={
            "starts_on": services.tenant_today() + dt.timedelta(days=1),
            "submission": uuid.uuid4().hex,
        },
    )
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            record = _submission(form.cleaned_data["submission"])
            if record is not None and record.response_body:  # sent twice: the first's answer
                return redirect("dashboard:recurring-detail", pk=record.response_body["id"])
            try:
                recurring = services.recurring_create(**form.to_schedule(), created_by=request.user)
            except ValidationError as exc:
                form.add_schedule_errors(exc.message_dict)
            else:
                if record is not None:
                    record.response_status, record.response_body = 302, {"id": recurring.pk}
                    record.save(update_fields=["response_status", "response_body"])
                made = recurring.occurrences.filter(order__isnull=False).count()
                messages.success(
                    request,
                    ngettext(
                        "Schedule “%(name)s” saved; %(made)d order made for the next "
                        "%(days)d days.",
                        "Schedule “%(name)s” saved; %(made)d orders made for the next "
                        "%(days)d days.",
                        made,
                    )
                    % {"name": recurring.name, "made": made, "days": recurring.lead_days},
                )
                return redirect("dashboard:recurring-detail", pk=recurring.pk)
    return render(request, "dispatch/recurring/form.html", _form_context(form, None))


@dispatcher_required
def recurring_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    recurring = get_object_or_404(RecurringOrder, pk=pk, cancelled_at__isnull=True)
    form = _form(request, initial=RecurringForm.initial_for(recurring))
    if request.method == "POST" and form.is_valid():
        try:
            recurring, outcome = services.recurring_update(
                recurring=recurring, **form.to_schedule()
            )
        except ValidationError as exc:
            form.add_schedule_errors(exc.message_dict)
        else:
            _flash(request, outcome, _("Schedule saved."))
            return redirect("dashboard:recurring-detail", pk=recurring.pk)
    return render(request, "dispatch/recurring/form.html", _form_context(form, recurring))


@dispatcher_required
@require_POST
def recurring_preview_view(request: HttpRequest) -> HttpResponse:
    """The form's next days, as the rule being written gives them (htmx)."""
    form = RecurringForm(request.POST)
    form.is_valid()  # the preview needs only the schedule's fields
    data = form.cleaned_data
    if "starts_on" not in data:
        days, errors = [], {"starts_on": [_("Choose the first day.")]}
    else:
        days, errors = rule_preview(
            rule=form.rule(), starts_on=data["starts_on"], ends_on=data.get("ends_on")
        )
    return render(
        request,
        "dispatch/recurring/_preview.html",
        {"days": days, "errors": [m for ms in errors.values() for m in ms], "rule": form.rule()},
    )


@dispatcher_required
def recurring_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    recurring = get_object_or_404(recurring_list(), pk=pk)
    upcoming = recurring_next(recurring, count=NEXT_ON_PAGE) if recurring.is_active else []
    return render(
        request,
        "dispatch/recurring/detail.html",
        {
            "recurring": recurring,
            "description": rule_describe(recurring.rule),
            "upcoming": upcoming,
            "movable": [o for o in upcoming if not o.skipped],
            "exceptions": recurring.exceptions.all(),
            "made": recurring_orders_made(recurring),
            "statuses": OrderStatus.choices,
        },
    )


class ExceptionForm(forms.Form):
    date = forms.DateField()
    action = forms.ChoiceField(choices=RecurrenceException.Action.choices)
    moved_to = forms.DateField(required=False)


@dispatcher_required
@require_POST
def recurring_exception_view(request: HttpRequest, pk: int) -> HttpResponse:
    recurring = get_object_or_404(RecurringOrder, pk=pk)
    form = ExceptionForm(request.POST)
    if not form.is_valid():
        flash_service_errors(request, ValidationError(form.errors.as_data()))
    else:
        try:
            exception, outcome = services.recurring_exception_set(
                recurring=recurring, **form.cleaned_data
            )
        except ValidationError as exc:
            flash_service_errors(request, exc)
        else:
            day = date_format(exception.date, SHORT_DAY)
            if exception.action == "skip":
                done = _("%(day)s skipped.") % {"day": day}
            else:
                done = _("%(day)s moved to %(to)s.") % {
                    "day": day,
                    "to": date_format(exception.moved_to, SHORT_DAY),
                }
            _flash(request, outcome, done)
    return redirect("dashboard:recurring-detail", pk=recurring.pk)


@dispatcher_required
@require_POST
def recurring_exception_remove_view(request: HttpRequest, pk: int, date: str) -> HttpResponse:
    recurring = get_object_or_404(RecurringOrder, pk=pk)
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        return redirect("dashboard:recurring-detail", pk=recurring.pk)
    try:
        outcome = services.recurring_exception_remove(recurring=recurring, date=day)
    except ValidationError as exc:
        flash_service_errors(request, exc)
    else:
        _flash(
            request,
            outcome,
            _("%(day)s is as the schedule says again.") % {"day": date_format(day, SHORT_DAY)},
        )
    return redirect("dashboard:recurring-detail", pk=recurring.pk)


@dispatcher_required
@require_POST
def recurring_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    recurring = get_object_or_404(RecurringOrder, pk=pk)
    recurring, outcome = services.recurring_cancel(recurring=recurring)
    _flash(
        request,
        outcome,
        _("Schedule “%(name)s” cancelled: it makes no more orders.") % {"name": recurring.name},
    )
    return redirect("dashboard:recurring-detail", pk=recurring.pk)
