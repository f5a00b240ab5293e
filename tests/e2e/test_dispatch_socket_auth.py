"""An open dispatcher socket, against the running web process with real websocket clients, is
closed (with a close code) once its session no longer signs in a dispatcher: the user
deactivated, demoted, with a new password, or signed out with that session. What the
server does itself reaches the socket at once (a push per user, the group named with the
schema); a change made elsewhere within DISPATCH_SOCKET_RECHECK_S, or at the socket's next
message. Another tenant's user with the same id keeps listening."""

from __future__ import annotations

import asyncio
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django_tenants.utils import schema_context
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import LiveTenant, live_tenant, running_web
from tests.e2e.ws import receive, run, socket

#: One dispatcher per case, created in the same order in both tenants: their ids match.
CASES = ("deactivated", "demoted", "password", "signed-out", "other-process")


@dataclass
class Side:
    tenant: LiveTenant
    ids: dict[str, int]  # case -> the dispatcher's user id
    cookies: dict[str, str]  # case -> "sessionid=…" of that dispatcher
    owner_cookie: str


def _side(django_db_blocker, server_url: str, prefix: str) -> Side:
    from django.test import Client

    from accounts.models import User

    users = tuple((f"{case}@{prefix}.test", "dispatcher") for case in CASES)
    tenant = live_tenant(django_db_blocker, server_url, prefix, users=users)

    def cookie_of(email: str) -> str:
        client = Client(HTTP_HOST=tenant.host)
        client.force_login(User.objects.get(email=email))
        return f"sessionid={client.cookies['sessionid'].value}"

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        ids = {case: User.objects.get(email=f"{case}@{prefix}.test").pk for case in CASES}
        cookies = {case: cookie_of(f"{case}@{prefix}.test") for case in CASES}
        owner = cookie_of(tenant.owner_email)
    return Side(tenant, ids, cookies, owner)


@pytest.fixture(scope="module")
def server(django_db_setup) -> Iterator[str]:
    """A server that would check again only hourly: what closes a socket here is the push."""
    with running_web(DISPATCH_SOCKET_RECHECK_S="3600") as url:
        yield url


@pytest.fixture(scope="module")
def sides(server, django_db_blocker) -> tuple[Side, Side]:
    a, b = _side(django_db_blocker, server, "sockauth"), _side(django_db_blocker, server, "sockb")
    assert a.ids == b.ids, "the two tenants' users must share ids"
    return a, b


def _post(side: Side, path: str, body: bytes, cookie: str, *, method: str = "POST") -> int:
    """A form or JSON request to the running server, as a browser with its CSRF token."""
    token = secrets.token_hex(16)  # a CSRF secret of our own, in the cookie and the header
    request = urllib.request.Request(
        f"http://127.0.0.1:{side.tenant.port}{path}",
        data=body,
        method=method,
        headers={
            "Host": side.tenant.host,
            "Cookie": f"{cookie}; csrftoken={token}",
            "X-CSRFToken": token,
            "Content-Type": "application/json" if body.startswith(b"{") else "text/plain",
        },
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


async def _closed(ws, *, within: float = 10.0) -> tuple[str, int]:
    """What the server said as it closed the socket, and the close code."""
    said = ""
    async with asyncio.timeout(within):
        try:
            while True:
                said = (await receive(ws, timeout=within, kind="error")).get("code", said)
        except ConnectionClosed:
            pass
    return said, ws.close_code


async def _alive(ws) -> bool:
    """The socket still answers (a ping), and its messages are still read."""
    try:
        await asyncio.wait_for(await ws.ping(), timeout=5)
        await ws.send('{"type": "still-here"}')
        await asyncio.wait_for(await ws.ping(), timeout=5)
    except (ConnectionClosed, TimeoutError):
        return False
    return ws.close_code is None


def _scenario(sides: tuple[Side, Side], case: str, change) -> tuple[tuple[str, int], bool]:
    """Open case's dispatcher's socket in both tenants, make `change` to tenant A's user,
    and return how A's socket ended and whether B's still listens."""
    a, b = sides

    async def scenario():
        async with (
            socket(a.tenant.host, "/ws/dispatch/", cookie=a.cookies[case]) as mine,
            socket(b.tenant.host, "/ws/dispatch/", cookie=b.cookies[case]) as theirs,
        ):
            assert (await receive(mine))["type"] == "hello"
            assert (await receive(theirs))["type"] == "hello"
            await asyncio.to_thread(change)
            ended = await _closed(mine)
            return ended, await _alive(theirs)

    return run(scenario())


def test_a_deactivated_dispatchers_socket_is_closed(sides):
    a, _ = sides
    body = b'{"is_active": false}'
    path = f"/api/v1/users/{a.ids['deactivated']}"
    change = lambda: _post(a, path, body, a.owner_cookie, method="PATCH")  # noqa: E731
    ended, others_alive = _scenario(sides, "deactivated", change)
    assert ended == ("signed_out", 4401)
    assert others_alive, "another tenant's user with the same id was cut off"


def test_a_demoted_dispatchers_socket_is_closed(sides):
    a, _ = sides
    body = b'{"role": "driver"}'
    path = f"/api/v1/users/{a.ids['demoted']}"
    change = lambda: _post(a, path, body, a.owner_cookie, method="PATCH")  # noqa: E731
    ended, others_alive = _scenario(sides, "demoted", change)
    assert ended == ("not_a_dispatcher", 4403)
    assert others_alive


def test_a_socket_whose_session_signed_out_elsewhere_is_closed(sides):
    a, _ = sides
    change = lambda: _post(a, "/logout/", b"", a.cookies["signed-out"])  # noqa: E731
    ended, others_alive = _scenario(sides, "signed-out", change)
    assert ended == ("signed_out", 4401)
    assert others_alive


def test_a_new_password_closes_the_socket_at_its_next_message(sides, django_db_blocker):
    """Changed by another process (a management command, say) the server is not told:
    the socket's next message finds the session no longer valid."""
    from accounts.models import User

    a, _ = sides

    async def scenario():
        async with socket(a.tenant.host, "/ws/dispatch/", cookie=a.cookies["password"]) as ws:
            assert (await receive(ws))["type"] == "hello"
            await asyncio.to_thread(_new_password, django_db_blocker, a, "password")
            await ws.send('{"type": "anything"}')
            return await _closed(ws)

    assert run(scenario()) == ("signed_out", 4401)
    with django_db_blocker.unblock(), schema_context(a.tenant.schema):
        assert User.objects.get(pk=a.ids["password"]).is_active


def _new_password(django_db_blocker, side: Side, case: str) -> None:
    from accounts.models import User

    with django_db_blocker.unblock(), schema_context(side.tenant.schema):
        user = User.objects.get(pk=side.ids[case])
        user.set_password(secrets.token_urlsafe(16))
        user.save()


def test_a_change_the_server_is_not_told_of_closes_the_socket_within_the_recheck(
    django_db_blocker,
):
    """A new password set by another process, on a server that checks every second: the
    socket, sending nothing, is closed; the other tenant's same-id user's is not."""
    with running_web(DISPATCH_SOCKET_RECHECK_S="1") as url:
        sides = (_side(django_db_blocker, url, "recheka"), _side(django_db_blocker, url, "rechekb"))
        assert sides[0].ids == sides[1].ids
        case = "other-process"
        change = lambda: _new_password(django_db_blocker, sides[0], case)  # noqa: E731
        ended, others_alive = _scenario(sides, case, change)
    assert ended == ("signed_out", 4401)
    assert others_alive
