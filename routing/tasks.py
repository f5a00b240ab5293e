"""Routing's background jobs: each enters nothing itself (`tenants.tasks.run_in_schema`
runs it in the tenant's schema) and calls one service."""

from __future__ import annotations

from routing.services import plans


def plan_solve(plan_id: int, allow_reassign: bool = True) -> str:
    """Solve the queued plan `plan_id` and store its routes (`plans.plan_solve`)."""
    return plans.plan_solve(plan_id, allow_reassign=allow_reassign)
