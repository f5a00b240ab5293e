"""The write-back engine when tries overlap or never end, against the fake WooCommerce: a
slow try is not taken up by a second worker and stops at its deadline; a worker that lost
its lease (it overran it, or the store was disconnected meanwhile) changes nothing; a store
that only ever asks us to slow down is given up after a day, shown to people, and "Try
again" starts the day afresh. The second worker is the same code run while the first one
waits for the store's answer, with the clock moved as far as that answer took."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from stores.models import WooCommerceStore, WriteBack
from stores.services import woocommerce, writeback
from stores.services.sources.woocommerce import WooCommerceApi
from tests.conftest import login_client
from tests.stores import fake_woocommerce as fw
from tests.stores import test_woocommerce_writeback as flow
from tests.stores.test_woocommerce_writeback import receive

# the fake store and alpha's connection to it, as the WooCommerce flow's tests have them
woo, shop = flow.woo, flow.shop


@pytest.fixture(autouse=True)
def timeouts(settings):
    settings.STORE_TIMEOUT_S = 15  # a try's deadline 60 s, its lease 120 s
    settings.STORE_GIVE_UP_AFTER_S = 86400


def slow_answer(monkeypatch, method: str, path_end: str, meanwhile: Callable[[], None]) -> None:
    """The store's answer to the first `method` call on a path ending `path_end` is slow:
    `meanwhile` runs before the worker that made the call gets it."""
    real, waiting = WooCommerceApi.call, [True]

    def call(self, called: str, path: str, body: dict | None = None):
        answer = real(self, called, path, body)
        if waiting and called == method and path.endswith(path_end):
            waiting.clear()
            meanwhile()
        return answer

    monkeypatch.setattr(WooCommerceApi, "call", call)


def later(time_machine, seconds: float) -> None:
    time_machine.move_to(timezone.now() + dt.timedelta(seconds=seconds), tick=True)


def test_a_slow_try_is_not_taken_up_by_a_second_worker_and_stops_at_its_deadline(
    alpha, woo, shop, time_machine, monkeypatch
):
    order = receive(alpha, woo, fw.order(1001))
    seen = {}
    with schema_context("alpha"):
        # delivered: four calls (read, completed, read the notes, add the note)
        kept = writeback.record(order, WriteBack.Action.DELIVERED)

        def meanwhile():
            later(time_machine, 70)  # the notes took 70 s to come
            seen["queued"] = writeback.due()  # the every-minute sweep
            seen["second worker"] = writeback.run(kept.pk)

        slow_answer(monkeypatch, "GET", "/notes", meanwhile)
        assert writeback.run(kept.pk) == "pending"
        assert seen == {"queued": 0, "second worker": "running"}
        kept.refresh_from_db()
        # past its deadline the first worker started no more calls: tried again later
        assert kept.attempts == 1 and "ran out of time" in kept.last_error
        assert kept.lease is None and kept.lease_expires_at is None
        assert woo.calls("POST") == []
        time_machine.move_to(kept.next_attempt_at + dt.timedelta(seconds=1), tick=True)
        assert writeback.run(kept.pk) == "done"
        kept.refresh_from_db()
        assert kept.attempts == 2
    assert len(woo.notes[1001]) == 1 and woo.orders[1001]["status"] == "completed"


def test_a_worker_that_overran_its_lease_changes_nothing(
    alpha, woo, shop, time_machine, monkeypatch
):
    order = receive(alpha, woo, fw.order(1001))
    seen = {}
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.DELIVERED)

        def meanwhile():
            # the note's answer took longer than the lease: the sweep hands the write-back
            # to a second worker, which finds the note there and finishes it
            later(time_machine, writeback.lease_s() + 10)
            seen["queued"] = writeback.due()
            seen["second worker"] = writeback.run(kept.pk)

        slow_answer(monkeypatch, "POST", "/notes", meanwhile)
        assert writeback.run(kept.pk) == "done"  # the first worker ends: as the second left it
        assert seen == {"queued": 1, "second worker": "done"}
        kept.refresh_from_db()
    # both tries counted: the first worker's stale end did not write over the second's
    assert (kept.status, kept.attempts, kept.lease) == ("done", 2, None)
    assert kept.result["delivered_note_id"] == woo.notes[1001][0]["id"]
    assert len(woo.notes[1001]) == 1 and len(woo.calls("POST")) == 1


def test_a_write_back_whose_workers_keep_dying_is_failed_not_taken_up_for_ever(
    alpha, woo, shop, time_machine, settings
):
    settings.STORE_MAX_ATTEMPTS = 3
    order = receive(alpha, woo, fw.order(1001))
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.SET_OFF)
        # every try's worker died mid-try (the job killed): its lease expires each time
        WriteBack.objects.filter(pk=kept.pk).update(
            status="running", attempts=3, lease_expires_at=timezone.now()
        )
        later(time_machine, 1)
        assert writeback.due() == 1
        assert writeback.run(kept.pk) == "failed"
        kept.refresh_from_db()
        store = WooCommerceStore.objects.get(pk=shop.pk)
    assert kept.last_error == "Its tries never finished (the worker stopped during each)."
    assert kept.lease is None and "never finished" in store.last_error
    assert woo.requests == []


@pytest.mark.parametrize("answer", ["ok", "keys revoked"])
def test_disconnecting_the_store_stops_a_try_that_is_running(alpha, woo, shop, monkeypatch, answer):
    order = receive(alpha, woo, fw.order(1001))
    seen = []
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.SET_OFF)

        def meanwhile():
            seen.append(WriteBack.objects.get(pk=kept.pk).status)
            woocommerce.store_disconnect(store=WooCommerceStore.objects.get(pk=shop.pk))
            seen.append(WriteBack.objects.get(pk=kept.pk).status)
            if answer == "keys revoked":
                woo.fail(401)

        slow_answer(monkeypatch, "GET", "/notes", meanwhile)
        assert writeback.run(kept.pk) == "cancelled"
        kept.refresh_from_db()
        store = WooCommerceStore.objects.get(pk=shop.pk)
    assert seen == ["running", "cancelled"]
    assert (kept.status, kept.last_error, kept.lease) == (
        "cancelled",
        "The store was disconnected.",
        None,
    )
    assert kept.result == {}
    assert store.last_error == "" and store.last_error_at is None  # nothing on a gone store


def test_a_store_that_keeps_asking_to_slow_down_is_given_up_after_a_day(
    alpha, woo, shop, time_machine
):
    order = receive(alpha, woo, fw.order(1001))
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.SET_OFF)
        started = kept.started_at
        for hours in (0, 6, 12, 23.9):
            time_machine.move_to(started + dt.timedelta(hours=hours, seconds=1), tick=True)
            woo.fail(429, **{"Retry-After": "60"})
            assert writeback.run(kept.pk) == "pending"
        kept.refresh_from_db()
        assert kept.attempts == 0  # slowing down uses no try
        time_machine.move_to(started + dt.timedelta(hours=24, seconds=1), tick=True)
        woo.fail(429, **{"Retry-After": "60"})
        assert writeback.run(kept.pk) == "failed"
        kept.refresh_from_db()
        store = WooCommerceStore.objects.get(pk=shop.pk)
    assert kept.last_error.startswith(
        "Given up after 24 hours: the store kept refusing or asking us to wait."
    )
    assert "slow down (429)" in kept.last_error
    assert store.last_error == f"Order {order.pk}: {kept.last_error}"
    assert woo.notes[1001] == []

    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    page = dispatcher.get(f"/orders/{order.pk}/").content.decode()
    assert f'id="store-update-{kept.pk}"' in page and 'data-status="failed"' in page
    assert "Given up after 24 hours" in page
    stores = login_client(alpha.host, alpha.owner_email).get("/settings/stores/").content
    assert f'id="writeback-{kept.pk}"' in stores.decode()
    assert stores.decode().count("Given up after 24 hours") == 2  # the update and the store

    # Try again: a new day to count from, so the store's next "slow down" is waited out
    answer = dispatcher.post(f"/settings/stores/writebacks/{kept.pk}/retry/")
    assert answer.status_code == 302
    with schema_context("alpha"):
        kept.refresh_from_db()
        assert (kept.status, kept.attempts) == ("pending", 0)
        assert kept.started_at > started + dt.timedelta(hours=24)
        woo.fail(429, **{"Retry-After": "60"})
        assert writeback.run(kept.pk) == "pending"
        time_machine.move_to(started + dt.timedelta(hours=47), tick=True)
        assert writeback.run(kept.pk) == "done"
    assert len(woo.notes[1001]) == 1


def test_a_running_write_back_shows_as_being_written(alpha, woo, shop, monkeypatch):
    order = receive(alpha, woo, fw.order(1001))
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    pages = []
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.SET_OFF)

        def meanwhile():
            pages.append(dispatcher.get(f"/orders/{order.pk}/").content.decode())

        slow_answer(monkeypatch, "GET", "/notes", meanwhile)
        assert writeback.run(kept.pk) == "done"
    (page,) = pages
    assert 'data-status="running"' in page and "being written now" in page
