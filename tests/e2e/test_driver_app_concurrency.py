"""A phone's outbox sending the same event several times at once (two tabs, a retry while
the first answer is on its way), through two real server processes: stored once, and
every copy gets the same answer."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from django_tenants.utils import schema_context

from tests.e2e.test_driver_app_browser import driver_day

COPIES = 6


def _signed_in(django_db_blocker, day, url: str) -> requests.Session:
    """A requests session of the day's driver on the server at `url` (form token included)."""
    from django.test import Client

    from accounts.models import User

    with django_db_blocker.unblock(), schema_context(day.tenant.schema):
        client = Client(HTTP_HOST=day.tenant.host)
        client.force_login(User.objects.get(email=f"driver@{day.prefix}.test"))
        cookie = client.cookies["sessionid"].value
    session = requests.Session()
    session.cookies.set("sessionid", cookie)
    port = url.rsplit(":", 1)[1]
    session.headers.update({"Host": f"{day.tenant.host.split(':')[0]}:{port}"})
    answer = session.get(f"http://127.0.0.1:{port}/driver/token", timeout=30)
    session.headers.update({"X-CSRFToken": answer.json()["csrf"], "Accept": "application/json"})
    session.base = f"http://127.0.0.1:{port}"
    return session


def test_the_same_event_and_proof_sent_at_once_are_stored_once(
    live_server_url, second_live_server_url, django_db_blocker
):
    from dispatch.models import OrderEvent
    from proofs.models import DeliveryProof
    from tracking.models import DriverReport

    day = driver_day(django_db_blocker, live_server_url, "drvrace")
    sessions = [
        _signed_in(django_db_blocker, day, url) for url in (live_server_url, second_live_server_url)
    ]
    first, second = day.orders
    stop_key, proof_key = str(uuid.uuid4()), str(uuid.uuid4())

    def post(n: int, path: str, fields: dict) -> tuple[int, dict]:
        session = sessions[n % 2]
        response = session.post(f"{session.base}{path}", data=fields, timeout=30)
        return response.status_code, response.json()

    with ThreadPoolExecutor(COPIES) as pool:
        arrived = list(
            pool.map(
                lambda n: post(
                    n, "/driver/stops", {"key": stop_key, "order": first, "event": "arrived"}
                ),
                range(COPIES),
            )
        )
    assert arrived == [(200, {"ok": True, "status": "arrived"})] * COPIES

    fields = {"key": proof_key, "outcome": "failed", "reason": "Nobody home"}
    with ThreadPoolExecutor(COPIES) as pool:
        finished = list(
            pool.map(lambda n: post(n, f"/driver/stops/{second}/complete", fields), range(COPIES))
        )
    assert all(status == 200 and body["status"] == "failed" for status, body in finished), finished
    assert len({body["proof"] for _, body in finished}) == 1

    with django_db_blocker.unblock(), schema_context(day.tenant.schema):
        assert DriverReport.objects.filter(key=stop_key).count() == 1
        mine = OrderEvent.objects.filter(actor=f"driver:{day.driver}")
        assert sorted(mine.values_list("order_id", "to_status")) == sorted(
            [(first, "en_route"), (first, "arrived"), (second, "en_route"), (second, "failed")]
        )
        assert DeliveryProof.objects.filter(order_id=second).count() == 1
