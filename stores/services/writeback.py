"""Writing an order's progress back to the store it came from, as jobs.

`record` is called inside the transaction that changed the order (the receivers); it
keeps one WriteBack per change (`key`: a double tap or a repeated event records nothing
new) and queues it after the commit. `run` makes one try: a passing failure waits and
tries again (doubling from STORE_RETRY_BASE_S, or as long as the store asked), a permanent
one (or the last try) fails the write-back, which shows on the order and on the store's
page. `due` (every minute) picks up the tries whose time has come, and jobs that were lost.
"""

from __future__ import annotations

import datetime as dt
import logging

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dispatch.models import Order
from dispatch.services.store_intake import origin
from stores import tasks
from stores.models import WriteBack
from stores.services.sources import registry
from stores.services.sources.base import PermanentError, RetryLater
from tenants.tasks import enqueue_after_commit

logger = logging.getLogger(__name__)


def record(order: Order, action: str, *, key: str | None = None) -> WriteBack | None:
    """Write `action` of `order` back to its store, once per `key` (default: once per
    action and order); None when the order came from no store that writes back."""
    found = origin(order)
    if found is None:
        return None
    platform, store = found
    source = registry.store(platform)
    if source is None or not source.can_write_back(store):
        return None
    writeback, created = WriteBack.objects.get_or_create(
        key=key or f"{action}:{order.pk}",
        defaults={
            "order": order,
            "platform": platform,
            "store": store,
            "action": action,
            "next_attempt_at": timezone.now(),
        },
    )
    if created:
        _queue(writeback.pk)
    return writeback


def _queue(writeback_pk: int) -> None:
    enqueue_after_commit(tasks.writeback_run, writeback_pk, task_name=f"writeback-{writeback_pk}")


def _state(writeback: WriteBack) -> dict:
    """What the order's earlier write-backs to the same store kept (a fulfilment id)."""
    state: dict = {}
    for result in WriteBack.objects.filter(
        order_id=writeback.order_id, store=writeback.store, status=WriteBack.Status.DONE
    ).values_list("result", flat=True):
        state.update(result or {})
    return state


def _backoff(attempts: int) -> float:
    return settings.STORE_RETRY_BASE_S * 2 ** max(attempts - 1, 0)


def run(writeback_pk: int) -> str:
    """One try of a write-back that is pending and due; returns its status."""
    now = timezone.now()
    with transaction.atomic():
        # of=self: the order's row is not locked with it (a driver's tap on the order
        # must not make the write-back look busy, nor wait for it)
        writeback = (
            WriteBack.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("order")
            .filter(pk=writeback_pk)
            .first()
        )
        if writeback is None:
            return "busy"
        if writeback.status != WriteBack.Status.PENDING or writeback.next_attempt_at > now:
            return writeback.status
        earlier = _earlier_pending(writeback)
        if earlier is not None:
            # in the order they happened: "delivered" must not reach the shop before "out
            # for delivery" is written (it would then say out for delivery last); this one
            # follows the earlier one's next try, and is queued when that one ends
            writeback.next_attempt_at = max(earlier.next_attempt_at, now) + dt.timedelta(seconds=1)
            writeback.save(update_fields=["next_attempt_at"])
            return writeback.status
        # a lease: a worker that dies mid-try leaves it due again later, not twice at once
        writeback.attempts += 1
        writeback.next_attempt_at = now + dt.timedelta(seconds=4 * settings.STORE_TIMEOUT_S)
        writeback.save(update_fields=["attempts", "next_attempt_at"])
    source = registry.store(writeback.platform)
    error, after, permanent = "", None, False
    try:
        if source is None or source.connection(writeback.store) is None:
            _finish(writeback, WriteBack.Status.CANCELLED, "The store is no longer connected.")
            return writeback.status
        result = source.write_back(
            writeback.action, writeback.order, store=writeback.store, state=_state(writeback)
        )
    except PermanentError as exc:
        error, permanent = str(exc), True
    except RetryLater as exc:
        error, after = str(exc), exc.after
        if not exc.counts:
            writeback.attempts -= 1
    except requests.RequestException as exc:
        error = f"The store could not be reached ({type(exc).__name__})."
    except Exception as exc:  # a bug or an answer we did not expect: logged, tried again
        logger.exception("write-back %s failed", writeback.pk)
        error = f"Could not be written back ({type(exc).__name__})."
    else:
        writeback.result = result or {}
        _finish(writeback, WriteBack.Status.DONE, "")
        return writeback.status
    if permanent or writeback.attempts >= settings.STORE_MAX_ATTEMPTS:
        _finish(writeback, WriteBack.Status.FAILED, error)
        source.record_error(writeback.store, f"Order {writeback.order_id}: {error}")
        return writeback.status
    wait = max(after or 0.0, _backoff(writeback.attempts) if after is None else 0.0)
    writeback.last_error = error[:500]
    writeback.next_attempt_at = timezone.now() + dt.timedelta(seconds=wait)
    writeback.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    return writeback.status


def _earlier_pending(writeback: WriteBack) -> WriteBack | None:
    """A write-back of the same order to the same store, recorded before this one and
    still pending."""
    return (
        WriteBack.objects.filter(
            order_id=writeback.order_id,
            store=writeback.store,
            status=WriteBack.Status.PENDING,
            pk__lt=writeback.pk,
        )
        .order_by("pk")
        .first()
    )


def _finish(writeback: WriteBack, status: str, error: str) -> None:
    writeback.status, writeback.last_error = status, error[:500]
    writeback.done_at = timezone.now()
    writeback.save(update_fields=["status", "last_error", "done_at", "result", "attempts"])
    # the next change of the same order waited for this one: its turn now
    following = (
        WriteBack.objects.filter(
            order_id=writeback.order_id,
            store=writeback.store,
            status=WriteBack.Status.PENDING,
            pk__gt=writeback.pk,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        WriteBack.objects.filter(pk=following).update(next_attempt_at=timezone.now())
        _queue(following)


def due(now: dt.datetime | None = None) -> int:
    """Queue every pending write-back whose time has come; returns how many."""
    now = now or timezone.now()
    pks = list(
        WriteBack.objects.filter(status=WriteBack.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    with transaction.atomic():
        for pk in pks:
            _queue(pk)
    return len(pks)


def cancel_pending(*, platform: str, store: str) -> int:
    """A store disconnected or uninstalled: what was still to be written back is dropped."""
    return WriteBack.objects.filter(
        platform=platform, store=store, status=WriteBack.Status.PENDING
    ).update(
        status=WriteBack.Status.CANCELLED,
        last_error="The store was disconnected.",
        done_at=timezone.now(),
    )


def retry(*, writeback: WriteBack) -> WriteBack:
    """Try a failed write-back again (the owner fixed what was wrong), from a fresh count."""
    with transaction.atomic():
        writeback = WriteBack.objects.select_for_update().get(pk=writeback.pk)
        if writeback.status == WriteBack.Status.FAILED:
            writeback.status, writeback.attempts = WriteBack.Status.PENDING, 0
            writeback.next_attempt_at, writeback.done_at = timezone.now(), None
            writeback.save(update_fields=["status", "attempts", "next_attempt_at", "done_at"])
            _queue(writeback.pk)
    return writeback
