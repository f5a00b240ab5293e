"""Names instead of actor strings on a page (`audit.selectors`), resolved in bulk:

{% load actor_names %}
{% for event in events|with_actor_names %}{{ event.actor_name }}{% endfor %}
{% for hook in hooks|with_actor_names:"created_by" %}{{ hook.created_by_name }}{% endfor %}
{{ plan.published_by|actor_name }}   (one value: one look-up)
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from audit.selectors import actor_name as _actor_name
from audit.selectors import actor_names

register = template.Library()


@register.filter
def with_actor_names(items: Iterable | None, field: str = "actor") -> list:
    """The rows as a list, each with `<field>_name` set: one query per kind of actor for
    the whole list, not one per row."""
    rows = list(items or [])
    names = actor_names(getattr(row, field) or "" for row in rows)
    for row in rows:
        setattr(row, f"{field}_name", names[getattr(row, field) or ""])
    return rows


@register.filter
def actor_name(actor: str | None) -> str:
    """One actor string's name."""
    return _actor_name(actor or "")
