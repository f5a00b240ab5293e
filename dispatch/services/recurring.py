"""Recurring orders: a schedule (an RFC 5545 recurrence rule, dispatch.selectors.recurring
reads it) that makes each day's order `lead_days` ahead, through the order services like
any channel's order, with its exceptions (a day skipped, or moved to another day).

Every function here that changes a schedule or its orders locks the schedule's row first,
so two runs of the job, or the job and a dispatcher's edit, take turns; the occurrence row
(unique per schedule and day) is what makes each day's order exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, ngettext

from dispatch.models import (
    Order,
    OrderStatus,
    RecurrenceException,
    RecurringOccurrence,
    RecurringOrder,
)
from dispatch.models.orders import FINAL_STATUSES
from dispatch.selectors.recurring import (
    Errors,
    recurrence_of,
    recurring_occurrences,
    rule_check,
    starts_on_check,
    tenant_today,
    tenant_zone,
)
from dispatch.services import orders as order_services
from dispatch.services.order_input import order_clean
from tenants.selectors import current_tenant

logger = logging.getLogger(__name__)

MAX_LEAD_DAYS = 60
#: How far ahead a day may be skipped or moved (each check walks the rule to that day).
EXCEPTION_DAYS = 730
#: What a template may not carry: the schedule gives each order its day and its id.
NOT_IN_TEMPLATE = {
    "delivery_date": gettext_noop("Leave it out: each order's day comes from the schedule."),
    "latest_date": gettext_noop("Leave it out: each order is for its own day."),
    "external_id": gettext_noop("Leave it out: each order's external id is made by the schedule."),
}


# --- making and changing a schedule ----------------------------------------------------


def _template_check(template: Any) -> tuple[dict[str, Any], Errors]:
    """The template as stored (as sent, once the order input schema takes it), or its
    errors as "template.<field>". The day is only a stand-in for the schema's check."""
    if not isinstance(template, Mapping):
        return {}, {"template": [gettext("Send the order's fields as an object.")]}
    errors: Errors = {
        f"template.{name}": [gettext(message)]
        for name, message in NOT_IN_TEMPLATE.items()
        if template.get(name) not in (None, "")
    }
    data = {k: v for k, v in template.items() if k not in NOT_IN_TEMPLATE}
    data["delivery_date"] = tenant_today().isoformat()
    if isinstance(template, dict) and type(template) is not dict:  # keep the JSON typing
        data = type(template)(data)
    _, schema_errors = order_clean(data, default_country=current_tenant().country)
    for name, messages in schema_errors.items():
        errors[f"template.{name}"] = messages
    # kept as sent (the schema reads it again for each order: a clean value is not always
    # what the schema takes, e.g. a pickup's "name" is cleaned to "customer_name")
    sent = {k: v for k, v in template.items() if k not in NOT_IN_TEMPLATE}
    return json.loads(json.dumps(sent, cls=DjangoJSONEncoder)), errors


def _values_check(values: Mapping[str, Any]) -> tuple[dict[str, Any], Errors]:
    """Every field of a schedule checked together (a full set of values)."""
    errors: Errors = {}
    clean: dict[str, Any] = {}
    name = values.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = [gettext("Give the schedule a name.")]
    elif len(name.strip()) > RecurringOrder._meta.get_field("name").max_length:
        errors["name"] = [gettext("At most 150 characters.")]
    else:
        clean["name"] = name.strip()
    starts_on, ends_on = values.get("starts_on"), values.get("ends_on")
    if not isinstance(starts_on, dt.date):
        errors["starts_on"] = [gettext("Choose the first day (YYYY-MM-DD).")]
    elif starts_on_errors := starts_on_check(starts_on, today=tenant_today()):
        errors["starts_on"] = starts_on_errors
    if ends_on is not None and not isinstance(ends_on, dt.date):
        errors["ends_on"] = [gettext("Use the date format YYYY-MM-DD, or leave it empty.")]
    elif isinstance(starts_on, dt.date) and ends_on is not None and ends_on < starts_on:
        errors["ends_on"] = [gettext("The last day cannot be before the first.")]
    lead = values.get("lead_days", 7)
    if isinstance(lead, bool) or not isinstance(lead, int) or not 0 <= lead <= MAX_LEAD_DAYS:
        errors["lead_days"] = [
            gettext("A whole number of days from 0 to %(most)d.") % {"most": MAX_LEAD_DAYS}
        ]
    else:
        clean["lead_days"] = lead
    if "starts_on" not in errors and "ends_on" not in errors:
        clean["starts_on"], clean["ends_on"] = starts_on, ends_on
        recurrence, rule_errors = rule_check(
            values.get("rule"), starts_on=starts_on, ends_on=ends_on, zone=tenant_zone()
        )
        errors.update(rule_errors)
        if recurrence is not None:
            clean["rule"] = recurrence.rule
    template, template_errors = _template_check(values.get("template"))
    errors.update(template_errors)
    clean["template"] = template
    return clean, errors


SCHEDULE_FIELDS = ("name", "template", "rule", "starts_on", "ends_on", "lead_days")


@transaction.atomic
def recurring_create(
    *,
    name: str,
    template: Mapping[str, Any],
    rule: str,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    lead_days: int = 7,
    created_by: Any = None,
) -> RecurringOrder:
    """Make a schedule and, at once, the orders of its days within `lead_days`.
    Raises ValidationError with field errors ("template.<field>" for the order's)."""
    clean, errors = _values_check(
        {
            "name": name,
            "template": template,
            "rule": rule,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "lead_days": lead_days,
        }
    )
    if errors:
        raise ValidationError(errors)
    user = created_by if isinstance(created_by, get_user_model()) else None  # not an API key
    recurring = RecurringOrder.objects.create(**clean, created_by=user)
    recurring_materialise(recurring=recurring)
    recurring.refresh_from_db()
    return recurring


@dataclass
class Outcome:
    """What a change did to the orders a schedule had made, for the dispatcher."""

    created: int = 0
    updated: int = 0
    cancelled: int = 0
    kept: list[int] = field(default_factory=list)  # planned already: left as they are

    def notes(self) -> list[str]:
        notes = []
        if self.created:
            notes.append(
                ngettext("%(count)d order created.", "%(count)d orders created.", self.created)
                % {"count": self.created}
            )
        if self.updated:
            notes.append(
                ngettext(
                    "%(count)d order not yet planned updated.",
                    "%(count)d orders not yet planned updated.",
                    self.updated,
                )
                % {"count": self.updated}
            )
        if self.cancelled:
            notes.append(
                ngettext(
                    "%(count)d order cancelled.", "%(count)d orders cancelled.", self.cancelled
                )
                % {"count": self.cancelled}
            )
        if self.kept:
            ids = ", ".join(f"#{pk}" for pk in self.kept)
            notes.append(
                gettext("Already planned, left as they are (change them on their pages): %(ids)s.")
                % {"ids": ids}
            )
        return notes


def _locked(recurring: RecurringOrder) -> RecurringOrder:
    return RecurringOrder.objects.select_for_update().get(pk=recurring.pk)


@transaction.atomic
def recurring_update(
    *, recurring: RecurringOrder, **changes: Any
) -> tuple[RecurringOrder, Outcome]:
    """Change a schedule (any of SCHEDULE_FIELDS). Its future days follow the new rule;
    the orders it made for today or later that are not planned yet take the new template,
    or are cancelled when their day is no longer one of the schedule's."""
    unknown = set(changes) - set(SCHEDULE_FIELDS)
    if unknown:
        raise ValidationError({name: [gettext("Unknown field.")] for name in sorted(unknown)})
    recurring = _locked(recurring)
    if not recurring.is_active:
        raise ValidationError({"non_field_errors": [gettext("This schedule is cancelled.")]})
    values = {name: getattr(recurring, name) for name in SCHEDULE_FIELDS} | changes
    clean, errors = _values_check(values)
    if errors:
        raise ValidationError(errors)
    template_changed = clean["template"] != recurring.template
    for name, value in clean.items():
        setattr(recurring, name, value)
    recurring.save()
    outcome = Outcome()
    today = tenant_today()
    recurrence = recurrence_of(recurring)
    exceptions = {e.date: e for e in recurring.exceptions.all()}
    columns = {f.name for f in Order._meta.concrete_fields}
    ahead = Q(date__gte=today) | Q(order__delivery_date__gte=today)  # moved here from before
    for made in recurring.occurrences.filter(ahead).select_related("order"):
        order = made.order
        exception = exceptions.get(made.date)
        gone = not recurrence.is_day(made.date) or (exception and exception.action == "skip")
        if order is None or order.status in FINAL_STATUSES or not (gone or template_changed):
            continue
        if order.status != OrderStatus.UNASSIGNED:
            outcome.kept.append(order.pk)
        elif gone:
            _cancel_made(made, reason=f"no longer a day of the schedule '{recurring.name}'")
            outcome.cancelled += 1
        else:  # the order's own fields (a pickup, made with it, stays as it is)
            data = {k: v for k, v in recurring.template.items() if k in columns}
            order_services.order_update(order=order, data=data)
            outcome.updated += 1
    outcome.created = recurring_materialise(recurring=recurring, today=today)
    recurring.refresh_from_db()
    return recurring, outcome


def _cancel_made(made: RecurringOccurrence, *, reason: str) -> None:
    """Cancel an occurrence's order (not planned yet) and forget the occurrence, so that
    its day is made again if it becomes one of the schedule's again."""
    order_services.order_transition(order=made.order, to=OrderStatus.CANCELLED, reason=reason)
    made.delete()


@transaction.atomic
def recurring_cancel(*, recurring: RecurringOrder) -> tuple[RecurringOrder, Outcome]:
    """Stop a schedule: it makes no more orders, and the orders it made for today or later
    that are not planned yet are cancelled (planned ones stay, for the dispatcher to
    decide). Cancelling it again changes nothing."""
    recurring = _locked(recurring)
    outcome = Outcome()
    if not recurring.is_active:
        return recurring, outcome
    recurring.cancelled_at = timezone.now()
    recurring.save(update_fields=["cancelled_at", "updated_at"])
    today = tenant_today()
    reason = f"schedule '{recurring.name}' cancelled"
    made = recurring.occurrences.select_related("order").filter(order__delivery_date__gte=today)
    for order in (m.order for m in made):
        if order.status == OrderStatus.UNASSIGNED:
            order_services.order_transition(order=order, to=OrderStatus.CANCELLED, reason=reason)
            outcome.cancelled += 1
        elif order.status not in FINAL_STATUSES:
            outcome.kept.append(order.pk)
    return recurring, outcome


# --- exceptions -------------------------------------------------------------------------


@transaction.atomic
def recurring_exception_set(
    *,
    recurring: RecurringOrder,
    date: Any,
    action: Any,
    moved_to: Any = None,
) -> tuple[RecurrenceException, Outcome]:
    """Skip one of the schedule's days, or move it to another day (setting it again
    replaces what was set for that day). A skipped day's order, when made and not planned
    yet, is cancelled; a moved day's order is rescheduled (now, or made on its new day)."""
    recurring = _locked(recurring)
    if not recurring.is_active:
        raise ValidationError({"non_field_errors": [gettext("This schedule is cancelled.")]})
    today = tenant_today()
    errors: Errors = {}
    if action not in RecurrenceException.Action.values:
        errors["action"] = [gettext("Choose skip or move.")]
    if not isinstance(date, dt.date):
        errors["date"] = [gettext("Use the date format YYYY-MM-DD.")]
    elif date < today:
        errors["date"] = [gettext("That day is past.")]
    elif date > today + dt.timedelta(days=EXCEPTION_DAYS):
        errors["date"] = [
            gettext("Choose a day within the next %(days)d days.") % {"days": EXCEPTION_DAYS}
        ]
    elif not recurrence_of(recurring).is_day(date):
        errors["date"] = [f"{date:%Y-%m-%d} is not one of this schedule's days."]
    if action == RecurrenceException.Action.MOVE:
        if not isinstance(moved_to, dt.date):
            errors["moved_to"] = [gettext("Choose the day to move it to (YYYY-MM-DD).")]
        elif moved_to < today:
            errors["moved_to"] = [gettext("That day is past.")]
        elif moved_to > today + dt.timedelta(days=EXCEPTION_DAYS):
            errors["moved_to"] = [
                gettext("Choose a day within the next %(days)d days.") % {"days": EXCEPTION_DAYS}
            ]
        elif moved_to == date:
            errors["moved_to"] = [gettext("Choose another day than its own.")]
        elif not errors:
            taken = [
                o
                for o in recurring_occurrences(recurring, start=moved_to, end=moved_to)
                if not o.skipped and o.date != date
            ]
            if taken:
                errors["moved_to"] = [
                    gettext("The schedule already has an order on %(day)s.")
                    % {"day": f"{moved_to:%Y-%m-%d}"}
                ]
    elif moved_to not in (None, ""):
        errors["moved_to"] = [gettext("Only a move has a day to move to.")]
    if errors:
        raise ValidationError(errors)
    exception, _ = RecurrenceException.objects.update_or_create(
        recurring=recurring,
        date=date,
        defaults={"action": action, "moved_to": moved_to if action == "move" else None},
    )
    outcome = Outcome()
    made = recurring.occurrences.select_related("order").filter(date=date).first()
    order = made.order if made else None
    if order is not None and order.status != OrderStatus.CANCELLED:
        if action == RecurrenceException.Action.SKIP:
            if order.status == OrderStatus.UNASSIGNED:
                _cancel_made(made, reason=f"{date:%Y-%m-%d} skipped in '{recurring.name}'")
                outcome.cancelled += 1
            else:
                outcome.kept.append(order.pk)
        elif order.delivery_date != moved_to:
            order_services.order_reschedule(
                order=order,
                delivery_date=moved_to,
                reason=f"{date:%Y-%m-%d} moved in '{recurring.name}'",
            )
            outcome.updated += 1
    outcome.created = recurring_materialise(recurring=recurring, today=today)
    return exception, outcome


@transaction.atomic
def recurring_exception_remove(*, recurring: RecurringOrder, date: dt.date) -> Outcome:
    """Undo a day's exception: a skipped day is made again (when still ahead), a moved
    day's order goes back to its own day when it is not past. Harmless to repeat."""
    recurring = _locked(recurring)
    outcome = Outcome()
    exception = recurring.exceptions.filter(date=date).first()
    if exception is None:
        return outcome
    if exception.action == RecurrenceException.Action.SKIP:
        moved_here = recurring.exceptions.filter(moved_to=date).first()
        if moved_here is not None:  # undoing the skip would make two orders on the day
            raise ValidationError(
                {
                    "date": [
                        gettext(
                            "The order of %(day)s is moved to this day: "
                            "undo or change that move first."
                        )
                        % {"day": f"{moved_here.date:%Y-%m-%d}"}
                    ]
                }
            )
    exception.delete()
    if not recurring.is_active:
        return outcome
    today = tenant_today()
    made = recurring.occurrences.select_related("order").filter(date=date).first()
    order = made.order if made else None
    if (
        exception.action == RecurrenceException.Action.MOVE
        and order is not None
        and order.status not in (OrderStatus.CANCELLED, OrderStatus.DELIVERED)
        and order.delivery_date != date
    ):
        if date >= today:
            order_services.order_reschedule(
                order=order, delivery_date=date, reason=f"back to {date:%Y-%m-%d}"
            )
            outcome.updated += 1
        else:
            outcome.kept.append(order.pk)
    outcome.created = recurring_materialise(recurring=recurring, today=today)
    return outcome


# --- making the orders ------------------------------------------------------------------


def external_id_for(recurring: RecurringOrder, occurrence: RecurringOccurrence) -> str:
    """The made order's external id: the schedule, the rule's day and the occurrence row
    (a day cancelled and made again gets a new order, and so a new id)."""
    return f"recurring-{recurring.pk}-{occurrence.date:%Y%m%d}-{occurrence.pk}"


@transaction.atomic
def recurring_materialise(*, recurring: RecurringOrder, today: dt.date | None = None) -> int:
    """Make the orders of the schedule's days from today to `lead_days` ahead that have
    none yet, through the order services (geocoding, notifications, auto-dispatch follow
    as for any new order). Exactly once per day, however often or concurrently it runs.
    Returns how many orders were made."""
    recurring = _locked(recurring)
    if not recurring.is_active:
        return 0
    today = today or tenant_today()
    horizon = today + dt.timedelta(days=recurring.lead_days)
    due = [
        o
        for o in recurring_occurrences(recurring, start=today, end=horizon)
        if not o.skipped and o.order_id is None
    ]
    handled = set(recurring.occurrences.values_list("date", flat=True))
    due = [o for o in due if o.date not in handled]
    rows = RecurringOccurrence.objects.bulk_create(
        [RecurringOccurrence(recurring=recurring, date=o.date) for o in due]
    )
    items = [
        {
            **recurring.template,
            "delivery_date": occurrence.delivery_date.isoformat(),
            "external_id": external_id_for(recurring, row),
        }
        for occurrence, row in zip(due, rows, strict=True)
    ]
    results = order_services.orders_create(
        items, source=Order.Source.RECURRING, actor=f"recurring:{recurring.pk}"
    )
    made, refused = 0, 0
    for row, result in zip(rows, results, strict=True):
        if result.id is None:  # the template no longer passes the schema: tried again later
            logger.warning(
                "recurring %s: order for %s refused: %s", recurring.pk, row.date, result.errors
            )
            row.delete()
            refused += 1
            continue
        row.order_id = result.id
        made += result.status == "created"
    RecurringOccurrence.objects.bulk_update([r for r in rows if r.order_id], ["order"])
    if not refused and (recurring.created_through is None or recurring.created_through < horizon):
        recurring.created_through = horizon
        recurring.save(update_fields=["created_through", "updated_at"])
    return made


def recurring_materialise_all(*, today: dt.date | None = None) -> dict[str, int]:
    """The job's work in one tenant: every active schedule that has days ahead without
    orders. One schedule's failure is logged and does not stop the others."""
    today = today or tenant_today()
    counts = {"schedules": 0, "orders": 0, "failed": 0}
    schedules = RecurringOrder.objects.filter(cancelled_at__isnull=True).exclude(ends_on__lt=today)
    for recurring in schedules:
        horizon = today + dt.timedelta(days=recurring.lead_days)
        if recurring.created_through and recurring.created_through >= horizon:
            continue
        counts["schedules"] += 1
        try:
            counts["orders"] += recurring_materialise(recurring=recurring, today=today)
        except Exception:  # one schedule's fault must not stop the others
            logger.exception("recurring %s: orders not made", recurring.pk)
            counts["failed"] += 1
    return counts
