"""Writing an order's progress back to the store it came from, as jobs.

`record` is called inside the transaction that changed the order (the receivers); it
keeps one WriteBack per change (`key`: a double tap or a repeated event records nothing
new) and queues it after the commit. `run` makes one try: a passing failure waits and
tries again (doubling from STORE_RETRY_BASE_S, or as long as the store asked), a permanent
one (or the last try) fails the write-back, which shows on the order and on the store's
page. `due` (every minute) picks up the tries whose time has come, and jobs that were lost.

States: PENDING (waiting for its next try) → RUNNING (one worker holds its lease) → DONE,
FAILED, or PENDING again; PENDING or RUNNING → CANCELLED when the store is disconnected.

- **Leases.** `run` claims a row that is pending and due, or running with an expired
  lease (its worker died), under a new lease token; every later write of that try (done,
  failed, the next try's time) is conditional on the token, so a worker that lost its
  lease (it overran it, or the store was disconnected meanwhile) changes nothing.
- **Deadlines.** A try may start calls to the store for `try_deadline_s()` (four call
  timeouts; stores.services.deadline); its lease lasts twice that, so the last call
  started in time ends before anyone else may take the write-back up.
- **Giving up.** Throttled answers use up no try, but a write-back still not written
  STORE_GIVE_UP_AFTER_S after its tries began (recorded, or tried again by hand) fails
  for good.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dispatch.models import Order
from dispatch.services.store_intake import origin
from stores import tasks
from stores.models import WriteBack
from stores.services import deadline
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


def try_deadline_s() -> float:
    """How long a try may go on starting calls to the store."""
    return 4 * settings.STORE_TIMEOUT_S


def lease_s() -> float:
    """How long a try holds its write-back: its deadline, and as long again for the call
    started just before it (a Shopify call may renew its token and call again)."""
    return 2 * try_deadline_s()


def _due(now: dt.datetime) -> Q:
    """Tries whose time has come: pending and due, or running on a lease that expired."""
    return Q(status=WriteBack.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=WriteBack.Status.RUNNING, lease_expires_at__lte=now
    )


def run(writeback_pk: int) -> str:
    """One try of a write-back that is due; returns its status after it."""
    writeback = _claim(writeback_pk)
    if writeback is None:
        return _status(writeback_pk)
    source = registry.store(writeback.platform)
    if source is None or source.connection(writeback.store) is None:
        _finish(writeback, WriteBack.Status.CANCELLED, "The store is no longer connected.")
        return _status(writeback_pk)
    if writeback.attempts > settings.STORE_MAX_ATTEMPTS:  # only leases that expired get here
        error = "Its tries never finished (the worker stopped during each)."
        if _finish(writeback, WriteBack.Status.FAILED, error):
            source.record_error(writeback.store, f"Order {writeback.order_id}: {error}")
        return _status(writeback_pk)
    error, after, counts, permanent = "", None, True, False
    try:
        with deadline.limit(seconds=try_deadline_s()):
            result = source.write_back(
                writeback.action, writeback.order, store=writeback.store, state=_state(writeback)
            )
    except PermanentError as exc:
        error, permanent = str(exc), True
    except RetryLater as exc:
        error, after, counts = str(exc), exc.after, exc.counts
    except requests.RequestException as exc:
        error = f"The store could not be reached ({type(exc).__name__})."
    except Exception as exc:  # a bug or an answer we did not expect: logged, tried again
        logger.exception("write-back %s failed", writeback.pk)
        error = f"Could not be written back ({type(exc).__name__})."
    else:
        _finish(writeback, WriteBack.Status.DONE, "", result=result or {})
        return _status(writeback_pk)
    # the claim counted this try; a throttled answer gives it back
    attempts = writeback.attempts if counts else writeback.attempts - 1
    if not permanent and attempts < settings.STORE_MAX_ATTEMPTS and _given_up(writeback):
        error, permanent = _given_up_error(error), True
    if permanent or attempts >= settings.STORE_MAX_ATTEMPTS:
        if _finish(writeback, WriteBack.Status.FAILED, error, attempts=attempts):
            source.record_error(writeback.store, f"Order {writeback.order_id}: {error}")
        return _status(writeback_pk)
    wait = max(after or 0.0, _backoff(attempts) if after is None else 0.0)
    _mine(writeback).update(
        status=WriteBack.Status.PENDING,
        lease=None,
        lease_expires_at=None,
        attempts=attempts,
        last_error=error[:500],
        next_attempt_at=timezone.now() + dt.timedelta(seconds=wait),
    )
    return _status(writeback_pk)


def _given_up(writeback: WriteBack) -> bool:
    """Whether its tries began STORE_GIVE_UP_AFTER_S ago: a store that keeps refusing,
    or keeps asking us to slow down, is not tried for ever."""
    waited = timezone.now() - writeback.started_at
    return waited >= dt.timedelta(seconds=settings.STORE_GIVE_UP_AFTER_S)


def _given_up_error(error: str) -> str:
    hours = settings.STORE_GIVE_UP_AFTER_S / 3600
    return (
        f"Given up after {hours:g} hour{'' if hours == 1 else 's'}: the store kept refusing "
        f"or asking us to wait. Its last answer: {error}"
    )


def _claim(writeback_pk: int) -> WriteBack | None:
    """The write-back, RUNNING under a new lease (its try counted) when it was due and
    its turn; None when it is not due or another worker has its row locked."""
    now = timezone.now()
    with transaction.atomic():
        # of=self: the order's row is not locked with it (a driver's tap on the order
        # must not make the write-back look busy, nor wait for it)
        writeback = (
            WriteBack.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("order")
            .filter(_due(now), pk=writeback_pk)
            .first()
        )
        if writeback is None:
            return None
        earlier = _earlier_unfinished(writeback)
        if earlier is not None:
            # in the order they happened: "delivered" must not reach the shop before "out
            # for delivery" is written (it would then say out for delivery last); this one
            # follows the earlier one's next try, and is queued when that one ends
            earlier_at = earlier.lease_expires_at or earlier.next_attempt_at
            WriteBack.objects.filter(pk=writeback.pk).update(
                status=WriteBack.Status.PENDING,
                lease=None,
                lease_expires_at=None,
                next_attempt_at=max(earlier_at, now) + dt.timedelta(seconds=1),
            )
            return None
        writeback.status, writeback.lease = WriteBack.Status.RUNNING, uuid.uuid4()
        writeback.lease_expires_at = now + dt.timedelta(seconds=lease_s())
        writeback.attempts += 1
        writeback.save(update_fields=["status", "lease", "lease_expires_at", "attempts"])
    return writeback


def _mine(writeback: WriteBack):
    """The write-back's row while this try still holds its lease (else no row)."""
    return WriteBack.objects.filter(
        pk=writeback.pk, status=WriteBack.Status.RUNNING, lease=writeback.lease
    )


def _status(writeback_pk: int) -> str:
    return WriteBack.objects.filter(pk=writeback_pk).values_list("status", flat=True).first() or ""


def _earlier_unfinished(writeback: WriteBack) -> WriteBack | None:
    """A write-back of the same order to the same store, recorded before this one and
    still pending or running."""
    return (
        WriteBack.objects.filter(
            order_id=writeback.order_id,
            store=writeback.store,
            status__in=(WriteBack.Status.PENDING, WriteBack.Status.RUNNING),
            pk__lt=writeback.pk,
        )
        .order_by("pk")
        .first()
    )


def _finish(
    writeback: WriteBack,
    status: str,
    error: str,
    *,
    result: dict | None = None,
    attempts: int | None = None,
) -> bool:
    """End the try's write-back as `status`, if the try still holds its lease; whether
    it did."""
    changes = {"status": status, "last_error": error[:500], "done_at": timezone.now()}
    if result is not None:
        changes["result"] = result
    if attempts is not None:
        changes["attempts"] = attempts
    if not _mine(writeback).update(lease=None, lease_expires_at=None, **changes):
        return False  # the lease was lost: cancelled, or taken up by another worker
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
    return True


def due(now: dt.datetime | None = None) -> int:
    """Queue every write-back whose try is due (or whose running try's lease expired);
    returns how many."""
    now = now or timezone.now()
    pks = list(
        WriteBack.objects.filter(_due(now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    with transaction.atomic():
        for pk in pks:
            _queue(pk)
    return len(pks)


def cancel_pending(*, platform: str, store: str) -> int:
    """A store disconnected or uninstalled: what was still to be written back is dropped,
    and a try running now loses its lease (what it ends with is not kept)."""
    return WriteBack.objects.filter(
        platform=platform,
        store=store,
        status__in=(WriteBack.Status.PENDING, WriteBack.Status.RUNNING),
    ).update(
        status=WriteBack.Status.CANCELLED,
        lease=None,
        lease_expires_at=None,
        last_error="The store was disconnected.",
        done_at=timezone.now(),
    )


def retry(*, writeback: WriteBack) -> WriteBack:
    """Try a failed write-back again (the owner fixed what was wrong), afresh: its tries
    counted from zero and the give-up clock started again."""
    with transaction.atomic():
        writeback = WriteBack.objects.select_for_update().get(pk=writeback.pk)
        if writeback.status == WriteBack.Status.FAILED:
            now = timezone.now()
            writeback.status, writeback.attempts = WriteBack.Status.PENDING, 0
            writeback.next_attempt_at = writeback.started_at = now
            writeback.done_at = None
            writeback.save(
                update_fields=["status", "attempts", "next_attempt_at", "started_at", "done_at"]
            )
            _queue(writeback.pk)
    return writeback
