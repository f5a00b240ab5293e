"""What the planning layer announces, for the apps that act on it (notifications, the
driver app's live updates). Sent inside the transaction that made the change; receivers
that reach outside the database should use `transaction.on_commit`."""

from django.dispatch import Signal

#: A plan was published: kwargs `plan` and `routes` (the published PlanRoutes).
plan_published = Signal()
#: A plan changed (routes, stops, locks, status): kwargs `plan` (its `revision` the new one)
#: and `actor`. Sent inside the transaction; the board's live update waits for the commit.
plan_changed = Signal()
#: A published route has a new version for its driver: kwarg `version` (RouteVersion).
route_version_created = Signal()
