"""Order status changes, from any source (driver app, dashboard, API), reach the
tenant's dispatchers and the order's customer once the change is committed; so do plan
changes (a board open on the plan fetches it again)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_out
from django.db import connection
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import User
from dispatch.signals import order_status_changed
from routing.signals import plan_changed
from tracking.services.day import next_seq
from tracking.services.hub import dispatch_group, order_group, user_group
from tracking.services.live import send_on_commit


@receiver(order_status_changed, dispatch_uid="tracking-broadcast")
def on_order_status_changed(sender, *, order, from_status, to_status, actor, **kwargs) -> None:
    schema = connection.schema_name
    seq = next_seq()
    stop = {"type": "stop", "order": order.pk, "status": to_status, "from": from_status, "seq": seq}
    status = {"type": "status", "status": to_status, "seq": seq}
    send_on_commit([(dispatch_group(schema), stop), (order_group(schema, order.pk), status)])


@receiver(plan_changed, dispatch_uid="tracking-plan-changed")
def on_plan_changed(sender, *, plan, actor="", **kwargs) -> None:
    """Every dispatcher of the tenant hears of the plan's new revision (and who made
    it); a board showing an older one fetches the plan again."""
    message = {"type": "plan", "plan": plan.pk, "revision": plan.revision, "actor": actor}
    send_on_commit([(dispatch_group(connection.schema_name), message)])


@receiver(post_save, sender=User, dispatch_uid="tracking-user-changed")
def on_user_changed(sender, *, instance, update_fields=None, **kwargs) -> None:
    """The user's open sockets check again whether they still may listen (deactivated,
    another role, a new password: their session no longer signs them in)."""
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a sign-in changes nothing a socket depends on
    send_on_commit([(user_group(connection.schema_name, instance.pk), {"type": "user.changed"})])


@receiver(user_logged_out, dispatch_uid="tracking-user-signed-out")
def on_signed_out(sender, *, request, user, **kwargs) -> None:
    """The sockets opened with the session that signed out close (the message names it:
    it is sent before the session is flushed)."""
    if user is None or getattr(request, "session", None) is None:
        return
    message = {"type": "user.changed", "ended_session": request.session.session_key}
    send_on_commit([(user_group(connection.schema_name, user.pk), message)])
