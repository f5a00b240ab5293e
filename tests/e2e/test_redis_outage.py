"""Redis stopped while drivers stream (two web processes sharing it): the phone's fixes are
still stored and acknowledged; the dispatcher's map, cut off from the other process, gets
everything again when it reconnects (the map, like live.js, reloads every driver's newest
position on each (re)connect);
once Redis is back, live positions flow between the processes again."""

from __future__ import annotations

import shutil
import time
from contextlib import suppress

import pytest

from tests.e2e.conftest import _free_port, running_daphne, start_redis
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
        with running_daphne(**env) as first, running_daphne(**env) as second:
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
