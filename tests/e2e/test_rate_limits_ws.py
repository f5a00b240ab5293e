"""A driver's socket past its message rate: the excess is dropped with a `rate_limited`
answer (not every time), the phone carries on once it slows down, and one that never
slows down is cut off."""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress

from websockets.exceptions import ConnectionClosed

from tests.e2e.test_tracking_ws import fix, make_world
from tests.e2e.ws import receive, run, socket


def test_a_driver_socket_past_its_rate_is_answered_then_cut_off(live_server_url, django_db_blocker):
    from django.conf import settings

    world = make_world(django_db_blocker, live_server_url, "ratews")
    burst = settings.DRIVER_SOCKET_BURST

    async def scenario():
        async with socket(world.tenant.host, f"/ws/driver/?token={world.token}") as phone:
            await receive(phone, kind="hello")
            for k in range(burst + 20):  # a burst, and twenty more at once
                await phone.send(json.dumps({"type": "fixes", "fixes": [fix(k)]}))
            answers, acked = [], set()
            async with asyncio.timeout(10):  # the burst is taken; acks come per write
                while len(acked) < burst:
                    answers.append(await receive(phone))
                    acked.update(answers[-1].get("ids", []))
            limited = [a for a in answers if a.get("code") == "rate_limited"]
            assert limited and limited[0]["dropped"] == 1
            assert len(acked) <= burst + 1  # the twenty at once were dropped (a token may refill)
            await asyncio.sleep(1.2)  # slowed down: taken again
            await phone.send(json.dumps({"type": "fixes", "fixes": [fix(500)]}))
            assert (await receive(phone, kind="ack"))["type"] == "ack"
        async with socket(world.tenant.host, f"/ws/driver/?token={world.token}") as flood:
            await receive(flood, kind="hello")
            for _ in range(burst + 600):
                await flood.send(json.dumps({"type": "stop"}))
            with suppress(ConnectionClosed):
                async with asyncio.timeout(10):
                    while True:  # read what it was told until it is cut off
                        await flood.recv()
            assert flood.close_code == 4429

    run(scenario())
