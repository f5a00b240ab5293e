"""Routing's background jobs: each enters nothing itself (`tenants.tasks.run_in_schema`
runs it in the tenant's schema) and calls one service."""

from __future__ import annotations

import datetime as dt

from routing.services import auto_dispatch, multi_day, plans, recovery
from tenants.tasks import every_tenant


def plan_solve(plan_id: int, allow_reassign: bool = True) -> str:
    """Solve the queued plan `plan_id` and store its routes (`plans.plan_solve`)."""
    return plans.plan_solve(plan_id, allow_reassign=allow_reassign)


def multi_day_solve(multi_id: int) -> str:
    """Solve the queued multi-day plan `multi_id` into one plan per day
    (`multi_day.multi_day_solve`)."""
    return multi_day.multi_day_solve(multi_id)


# multi-day plans whose job was lost (as plans_recover does for plans)
@every_tenant("recover stalled multi-day plans", "I", 2)
def multi_days_recover(now: dt.datetime | None = None) -> int:
    return multi_day.multi_days_recover(now)


# plans whose job was lost (never queued, or its worker died while solving)
@every_tenant("recover stalled plans", "I", 2)
def plans_recover(now: dt.datetime | None = None) -> int:
    return recovery.plans_recover(now)


def orders_auto_dispatch(order_ids: list[int]) -> dict[int, str]:
    """Put today's new orders on the published routes where they cost least
    (`auto_dispatch.orders_auto_dispatch`); {order id: outcome}."""
    return auto_dispatch.orders_auto_dispatch(order_ids)


# from the tenant's planning hour on: tomorrow planned once, published once solved
@every_tenant("plan and publish tomorrow", "I", 5)
def auto_plan(now: dt.datetime | None = None) -> str:
    return auto_dispatch.auto_plan_tick(now)
