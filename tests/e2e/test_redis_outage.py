"""Redis stopped while drivers stream (two web processes sharing it): the phone's fixes are
still stored and acknowledged; the dispatcher's map, cut off from the other process, gets
everything again when it reconnects (the map, like live.js, reloads every driver's newest
position on each (re)connect);
once Redis is back, live positions flow between the processes again."""

from __future__ import annotations

import os
import shutil
import time
from contextlib import suppress

import pytest

from tests.e2e.conftest import _free_port, running_web, start_redis
from tests.e2e.test_tracking_ws import _json, fix, make_world
from tests.e2e.ws import receive, run, socket


def _snapshot(host: str, cookie: str) -> dict:
    """GET /api/v1/positions as the dispatcher's map does after (re)connecting."""
    import json
    import urllib.request

    port = host.rsplit(":", 1)[1]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/positions", headers={"Host": host, "Cookie": cookie}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_drivers_keep_streaming_through_a_redis_outage_and_maps_resync(
    live_server_url, django_db_blocker, tmp_path
):
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on this machine: the outage needs one of its own")
    from tracking.models import LocationPing

    world = make_world(django_db_blocker, live_server_url, "outage")
    port = _free_port()
    redis = start_redis(port, tmp_path)
    env = {"REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    host = world.tenant.host.rsplit(":", 1)[0]
    try:
        with running_web(**env) as first, running_web(**env) as second:
            one, two = (f"{host}:{url.rsplit(':', 1)[1]}" for url in (first, second))

            async def before() -> dict:
                async with (
                    socket(two, "/ws/dispatch/", cookie=world.cookie) as watch,
                    socket(one, f"/ws/driver/?token={world.token}") as phone,
                ):
                    await receive(watch, kind="hello")
                    await receive(phone, kind="hello")
                    await phone.send(_json({"type": "fixes", "fixes": [fix(1, lat=51.50)]}))
                    await receive(phone, kind="ack")
                    return await receive(watch, kind="positions", timeout=10)

            assert run(before())["positions"][0]["driver"] == world.driver_id
            redis.kill()  # Redis goes away
            redis.wait(timeout=10)

            async def during() -> list:
                acks = []
                async with socket(one, f"/ws/driver/?token={world.token}") as phone:
                    await receive(phone, kind="hello")
                    for k in range(2, 5):
                        await phone.send(_json({"type": "fixes", "fixes": [fix(k, lat=51.51)]}))
                        acks.append(await receive(phone, kind="ack", timeout=15))
                return acks

            acks = run(during())
            assert [a["ids"] for a in acks] == [["f2"], ["f3"], ["f4"]]  # stored, not lost
            with django_db_blocker.unblock():
                from django_tenants.utils import schema_context

                with schema_context(world.tenant.schema):
                    stored = set(
                        LocationPing.objects.filter(driver_id=world.driver_id).values_list(
                            "lat", flat=True
                        )
                    )
            assert {round(51.51 + k / 10_000, 6) for k in (2, 3, 4)} <= {
                round(v, 6) for v in stored
            }

            redis = start_redis(port, tmp_path)  # back
            time.sleep(1)

            async def after() -> tuple[dict, dict]:
                async with socket(two, "/ws/dispatch/", cookie=world.cookie) as watch:
                    await receive(watch, kind="hello")
                    hello = _snapshot(two, world.cookie)  # the resync, as live.js does it
                    async with socket(one, f"/ws/driver/?token={world.token}") as phone:
                        await receive(phone, kind="hello")
                        await phone.send(_json({"type": "fixes", "fixes": [fix(9, lat=51.52)]}))
                        await receive(phone, kind="ack")
                        live = await receive(watch, kind="positions", timeout=10)
                return hello, live

            hello, live = run(after())
        mine = [p for p in hello["positions"] if p["driver"] == world.driver_id]
        assert mine and mine[0]["lat"] == pytest.approx(51.51 + 4 / 10_000)  # the outage's last
        assert live["positions"][0]["lat"] == pytest.approx(51.52 + 9 / 10_000)
    finally:
        with suppress(ProcessLookupError):
            redis.kill()
        redis.wait(timeout=10)


def _http(method: str, url: str, host: str, **kwargs):
    """A request to 127.0.0.1 for `host`'s site (its port in `url`)."""
    import requests

    headers = {"Host": host, **kwargs.pop("headers", {})}
    return requests.request(method, url, headers=headers, timeout=30, **kwargs)


def test_http_calls_answer_while_redis_is_down_and_their_jobs_run_when_it_is_back(
    django_db_setup, django_db_blocker, tmp_path
):
    """Keyed API create and PATCH, the tracking page and a dashboard action that broadcasts,
    with Redis (cache, channel layer and job broker) gone: each answers 2xx and its change is
    stored; the jobs they queued are kept in the database, and once Redis is back the
    scheduler queues them and a worker does them."""
    import subprocess
    import sys

    import requests
    from django_q.models import Schedule
    from django_tenants.utils import schema_context

    from dispatch.models import Order
    from notifications.models import Notification
    from tests.conftest import PASSWORD, tenant_today
    from tests.e2e.conftest import ROOT, database_url_of_test_db, live_tenant, wait_until
    from tests.e2e.test_worker import running_worker
    from tracking.services.day import tracking_link_for

    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on this machine: the outage needs one of its own")
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis = start_redis(port, tmp_path)
    try:
        with running_web(REDIS_URL=url, Q_SYNC="0") as server:
            tenant = live_tenant(
                django_db_blocker,
                server,
                "redisdown",
                users=(("desk@redisdown.test", "dispatcher"),),
            )
            site, served = tenant.provisioned.domain.domain, f"http://127.0.0.1:{tenant.port}"
            key = {"Authorization": f"Bearer {tenant.provisioned.api_key_secret}"}
            with django_db_blocker.unblock(), schema_context(tenant.schema):
                tracked = Order.objects.create(
                    customer_name="Tracked", delivery_date=tenant_today(1), lat=51.5, lng=-0.1
                )
                token = tracking_link_for(tracked)
                to_cancel = Order.objects.create(
                    customer_name="Cancel", delivery_date=tenant_today(1)
                )
            desk = requests.Session()  # the dispatcher signs in while Redis is still up
            desk.get(f"{served}/login/", headers={"Host": site}, timeout=30)
            signed_in = desk.post(
                f"{served}/login/",
                data={
                    "username": "desk@redisdown.test",
                    "password": PASSWORD,
                    "csrfmiddlewaretoken": desk.cookies["csrftoken"],
                },
                headers={"Host": site},
                allow_redirects=False,
                timeout=30,
            )
            assert signed_in.status_code == 302

            redis.kill()  # Redis goes away
            redis.wait(timeout=10)

            order = {
                "customer_name": "Grace Hopper",
                "customer_email": "grace@example.com",
                "address_line1": "1 Main Street",
                "city": "London",
                "postcode": "SW1A 1AA",
                "delivery_date": str(tenant_today(1)),
            }
            created = _http("POST", f"{served}/api/v1/orders", site, json=order, headers=key)
            assert created.status_code == 201, created.text
            order_id = created.json()["id"]
            patched = _http(
                "PATCH",
                f"{served}/api/v1/orders/{order_id}",
                site,
                json={"customer_name": "Grace B. Hopper"},
                headers=key,
            )
            assert patched.status_code == 200, patched.text
            assert _http("GET", f"{served}/t/{token}", "localhost").status_code == 200
            assert _http("GET", f"{served}/t/{'x' * 43}", "localhost").status_code == 404
            cancelled = desk.post(
                f"{served}/orders/{to_cancel.pk}/cancel/",
                data={
                    "reason": "customer called",
                    "csrfmiddlewaretoken": desk.cookies["csrftoken"],
                },
                headers={"Host": site},
                allow_redirects=False,
                timeout=30,
            )
            assert cancelled.status_code == 302, cancelled.text
        with django_db_blocker.unblock():
            with schema_context(tenant.schema):
                assert Order.objects.get(pk=order_id).customer_name == "Grace B. Hopper"
                assert Order.objects.get(pk=to_cancel.pk).status == "cancelled"
            kept = Schedule.objects.filter(name__startswith=f"{tenant.schema}:notify-confirmed")
            assert kept.count() == 1  # the confirmation, waiting for the queue

        redis = start_redis(port, tmp_path)  # back
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": database_url_of_test_db(),
            "REDIS_URL": url,
        }
        subprocess.run(
            [sys.executable, "manage.py", "scheduler", "--once"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        with running_worker(REDIS_URL=url, Q_SCHEDULER="0"), django_db_blocker.unblock():

            def confirmed() -> bool:
                with schema_context(tenant.schema):
                    return Notification.objects.filter(
                        order_id=order_id, event="confirmed", status="sent"
                    ).exists()

            wait_until(confirmed, timeout=90, interval=0.5)
            assert not Schedule.objects.filter(name__startswith=f"{tenant.schema}:").exists()
    finally:
        with suppress(ProcessLookupError):
            redis.kill()
        redis.wait(timeout=10)
