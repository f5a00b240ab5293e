"""The day's jobs (django-q2, run in one tenant's schema by tenants.tasks)."""

from __future__ import annotations

from routing.services import learning
from tenants.tasks import every_tenant
from tracking.services import day, observations


@every_tenant("purge old GPS history", "D")
def locations_purge() -> int:
    """Nightly: GPS history older than the tenant's retention setting goes (the days it
    held are read into the learner's observations first)."""
    return day.locations_purge()


@every_tenant("learn from the drivers' days", "D")
def learn_nightly() -> int:
    """Nightly: read the days not read yet, then refit the learned corrections; returns
    the learning run's id."""
    return observations.learn_run().pk


def learn_now(days: int = learning.DAYS) -> int:
    """Asked for ("Learn now", `observations.learn`): as the nightly run; the run's id."""
    return observations.learn_run(days=days).pk
