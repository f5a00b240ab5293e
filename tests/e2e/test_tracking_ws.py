"""Live tracking over real websockets against the running web process: who may connect, what
each socket sees, and that a fix is stored before it is acknowledged."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket as _socket
import time
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core import signing
from django_tenants.utils import schema_context

from tests.e2e.conftest import LiveTenant, live_driver, running_web
from tests.e2e.ws import nothing_of, receive, refusal, run, socket


@dataclass
class World:
    tenant: LiveTenant
    driver_id: int
    token: str
    cookie: str  # a dispatcher's session
    heading: int  # the order the driver is on the way to
    heading_link: str
    other: int  # another order of the same tenant, not en route
    other_link: str


def make_world(django_db_blocker, server_url: str, prefix: str) -> World:
    from django.test import Client

    from accounts.models import User
    from dispatch.models import Order, OrderStatus
    from dispatch.services.orders import order_transition
    from routing.models import Plan, PlanRoute, PlanStop
    from tracking.services.day import tracking_link_for
    from tracking.services.tokens import driver_token

    tenant, driver, van = live_driver(django_db_blocker, server_url, prefix)
    user = driver.user
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        today = dt.date.today()
        orders = [
            Order.objects.create(
                customer_name=f"{prefix} customer {k}",
                delivery_date=today,
                lat=51.51 + k / 100,
                lng=-0.12,
                weight_kg=Decimal("1"),
            )
            for k in range(2)
        ]
        now = dt.datetime.now(dt.UTC)
        plan = Plan.objects.create(date=today, status="done", solved_at=now, published_at=now)
        route = PlanRoute.objects.create(
            plan=plan,
            driver=driver,
            vehicle=van,
            starts_at=now,
            ends_at=now,
            distance_m=0,
            duration_s=0,
            version=1,
        )
        for k, order in enumerate(orders, start=1):
            PlanStop.objects.create(
                route=route, sequence=k, order=order, arrives_at=now, starts_at=now, departs_at=now
            )
            for status in (OrderStatus.PLANNED, OrderStatus.DISPATCHED):
                order_transition(order=order, to=status, actor="test")
        order_transition(order=orders[0], to=OrderStatus.EN_ROUTE, actor="test")
        client = Client(HTTP_HOST=tenant.host)
        client.force_login(User.objects.get(email=f"dispatcher@{prefix}.test"))
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        token = driver_token(schema=tenant.schema, driver_id=driver.pk, user_id=user.pk)
        links = [tracking_link_for(order) for order in orders]
    return World(tenant, driver.pk, token, cookie, orders[0].pk, links[0], orders[1].pk, links[1])


@pytest.fixture(scope="module")
def worlds(live_server_url, django_db_blocker) -> tuple[World, World]:
    return (
        make_world(django_db_blocker, live_server_url, "trka"),
        make_world(django_db_blocker, live_server_url, "trkb"),
    )


def fix(k: int, *, lat: float = 51.52) -> dict:
    return {
        "id": f"f{k}",
        "t": int(time.time() * 1000) - 60_000 + k,
        "lat": lat + k / 10_000,
        "lng": -0.121,
        "accuracy_m": 5,
        "speed_mps": 8.3,
        "heading_deg": 90,
    }


def test_a_driver_socket_needs_a_valid_token_of_its_own_tenant(worlds):
    a, b = worlds

    async def scenario():
        assert await refusal(a.tenant.host, "/ws/driver/") == ("no_token", 4401)
        assert await refusal(a.tenant.host, "/ws/driver/?token=forged") == ("invalid", 4401)
        other = await refusal(a.tenant.host, f"/ws/driver/?token={b.token}")
        assert other == ("another_tenants_token", 4401)
        assert await refusal(a.tenant.host, f"/ws/driver/?token={expired(a)}") == ("expired", 4401)

    run(scenario())


def expired(world: World) -> str:
    """The driver's token as it was issued 15 hours ago (tokens last 14)."""
    data = signing.loads(world.token, salt="tracking.driver-token")
    past = time.time() - 15 * 3600
    signer = signing.TimestampSigner(salt="tracking.driver-token")
    signer.timestamp = lambda: signing.b62_encode(int(past))
    return signer.sign_object(data, compress=True)


def test_a_driver_off_duty_is_refused(worlds, django_db_blocker):
    from dispatch.models import Driver
    from tracking.services.day import duty_set

    a, _ = worlds
    with django_db_blocker.unblock(), schema_context(a.tenant.schema):
        duty_set(driver=Driver.objects.get(pk=a.driver_id), on_duty=False)
    try:
        code = run(refusal(a.tenant.host, f"/ws/driver/?token={a.token}"))
        assert code == ("off_duty", 4403)
    finally:
        with django_db_blocker.unblock(), schema_context(a.tenant.schema):
            duty_set(driver=Driver.objects.get(pk=a.driver_id), on_duty=True)


def test_dispatch_and_track_sockets_refuse_strangers(worlds):
    a, b = worlds

    async def scenario():
        assert await refusal(a.tenant.host, "/ws/dispatch/") == ("not_signed_in", 4401)
        # a session of tenant B is nobody on tenant A's host
        assert await refusal(a.tenant.host, "/ws/dispatch/", cookie=b.cookie) == (
            "not_signed_in",
            4401,
        )
        assert await refusal(a.tenant.host, "/ws/track/not-a-token/") == ("unknown_link", 4404)

    run(scenario())


def test_fixes_are_stored_then_acknowledged_and_reach_only_their_tenants_dispatchers(
    worlds, django_db_blocker
):
    from tracking.models import DriverPosition, LocationPing

    a, b = worlds

    async def scenario():
        async with (
            socket(a.tenant.host, "/ws/dispatch/", cookie=a.cookie) as watch_a,
            socket(b.tenant.host, "/ws/dispatch/", cookie=b.cookie) as watch_b,
            socket(a.tenant.host, f"/ws/driver/?token={a.token}") as phone,
        ):
            assert (await receive(watch_a))["type"] == "hello"
            assert (await receive(watch_b))["type"] == "hello"
            hello = await receive(phone)
            assert hello == {"type": "hello", "driver": a.driver_id, "heading_to": a.heading}
            fixes = [fix(k) for k in range(3)]
            await phone.send(_json({"type": "fixes", "fixes": fixes}))
            ack = await receive(phone, kind="ack")
            with django_db_blocker.unblock(), schema_context(a.tenant.schema):
                stored = LocationPing.objects.filter(driver_id=a.driver_id).count()
            seen = await receive(watch_a, kind="positions")
            silent = await nothing_of(watch_b, "positions")
            # the same fixes again (a resend after a reconnect): acknowledged, stored once
            await phone.send(_json({"type": "fixes", "fixes": fixes}))
            again = await receive(phone, kind="ack")
            bad = {"id": "bad", "t": "yesterday", "lat": 91, "lng": 0}
            await phone.send(_json({"type": "fixes", "fixes": [bad]}))
            rejected = await receive(phone, kind="rejected")
            return ack, stored, seen, silent, again, rejected

    ack, stored, seen, silent, again, rejected = run(scenario())
    assert sorted(ack["ids"]) == ["f0", "f1", "f2"] and stored >= 3  # stored before the ack
    # the map gets each driver's newest position (one flush took all three)
    assert [p["driver"] for p in seen["positions"]] == [a.driver_id]
    assert seen["positions"][0]["lat"] == pytest.approx(51.52 + 2 / 10_000)
    assert seen["positions"][0]["name"] == "trka Dana"
    assert silent, "tenant B's dispatcher heard tenant A's driver"
    assert sorted(again["ids"]) == ["f0", "f1", "f2"]
    assert rejected["fixes"][0]["id"] == "bad"
    assert set(rejected["fixes"][0]["errors"]) == {"t", "lat"}
    with django_db_blocker.unblock(), schema_context(a.tenant.schema):
        assert LocationPing.objects.filter(driver_id=a.driver_id).count() == stored
        position = DriverPosition.objects.get(driver_id=a.driver_id)
        assert position.lat == pytest.approx(51.52 + 2 / 10_000)  # the newest fix
    with django_db_blocker.unblock(), schema_context(b.tenant.schema):
        assert not LocationPing.objects.exists()


def test_a_customer_sees_the_driver_only_while_it_heads_to_them(worlds):
    a, _ = worlds

    async def scenario():
        async with (
            socket(a.tenant.host, f"/ws/track/{a.heading_link}/") as mine,
            socket(a.tenant.host, f"/ws/track/{a.other_link}/") as theirs,
            socket(a.tenant.host, f"/ws/driver/?token={a.token}") as phone,
        ):
            snapshot = await receive(mine, kind="snapshot")
            other_snapshot = await receive(theirs, kind="snapshot")
            await receive(phone, kind="hello")
            await phone.send(_json({"type": "fixes", "fixes": [fix(10, lat=51.53)]}))
            await receive(phone, kind="ack")
            position = await receive(mine, kind="position")
            nothing = await nothing_of(theirs, "position")
            return snapshot, other_snapshot, position, nothing

    snapshot, other_snapshot, position, nothing = run(scenario())
    assert snapshot["status"] == "en_route" and other_snapshot["status"] == "dispatched"
    assert other_snapshot["position"] is None
    assert set(position) == {"type", "lat", "lng", "seq", "t"}  # no driver id, no name
    assert position["lat"] == pytest.approx(51.53 + 10 / 10_000)
    assert nothing, "a customer whose order is not next saw the driver"


def test_stop_events_move_the_order_and_reach_dispatchers_and_the_customer(worlds):
    a, _ = worlds

    async def scenario():
        async with (
            socket(a.tenant.host, "/ws/dispatch/", cookie=a.cookie) as watch,
            socket(a.tenant.host, f"/ws/track/{a.other_link}/") as customer,
            socket(a.tenant.host, f"/ws/driver/?token={a.token}") as phone,
        ):
            await receive(watch, kind="hello")
            await receive(customer, kind="snapshot")
            await receive(phone, kind="hello")
            await phone.send(_json({"type": "stop", "order": a.other, "event": "en_route"}))
            ok = await receive(phone, kind="stop_ok")
            stop = await receive(watch, kind="stop")
            status = await receive(customer, kind="status")
            await phone.send(_json({"type": "stop", "order": 10**9, "event": "arrived"}))
            refused = await receive(phone, kind="error")
            await phone.send("{not json")
            garbled = await receive(phone, kind="error")
            await phone.send(b"\x00\x01")
            binary = await receive(phone, kind="error")
            assert garbled["code"] == binary["code"] == "not_json"
            await phone.send(_json({"type": "stop", "order": a.other, "event": "en_route"}))
            assert (await receive(phone, kind="stop_ok"))["status"] == "en_route"  # still up
            return ok, stop, status, refused

    ok, stop, status, refused = run(scenario())
    assert ok["status"] == "en_route" and ok["order"] == a.other
    assert (stop["order"], stop["status"]) == (a.other, "en_route")
    assert (status["type"], status["status"]) == ("status", "en_route")
    assert status["seq"] == stop["seq"] > 0
    assert "order" in refused["errors"]


def _redis_up() -> bool:
    try:
        with _socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_two_web_processes_share_messages_through_redis(worlds, django_db_blocker):
    if not _redis_up():
        pytest.skip("no Redis on 127.0.0.1:6379: the scaled-out path needs one")
    a, _ = worlds
    redis = {"REDIS_URL": "redis://127.0.0.1:6379/5"}
    with running_web(**redis) as first, running_web(**redis) as second:
        one = f"{a.tenant.host.rsplit(':', 1)[0]}:{first.rsplit(':', 1)[1]}"
        two = f"{a.tenant.host.rsplit(':', 1)[0]}:{second.rsplit(':', 1)[1]}"

        async def scenario():
            async with (
                socket(two, "/ws/dispatch/", cookie=a.cookie) as watch,
                socket(one, f"/ws/driver/?token={a.token}") as phone,
            ):
                await receive(watch, kind="hello")
                await receive(phone, kind="hello")
                await asyncio.sleep(6)  # an idle map outlives the Redis client's read timeout
                await phone.send(_json({"type": "fixes", "fixes": [fix(20, lat=51.54)]}))
                await receive(phone, kind="ack")
                return await receive(watch, kind="positions", timeout=10)

        seen = run(scenario())
    assert seen["positions"][0]["driver"] == a.driver_id
    assert seen["positions"][0]["lat"] == pytest.approx(51.54 + 20 / 10_000)


def _json(value) -> str:
    import json

    return json.dumps(value)
