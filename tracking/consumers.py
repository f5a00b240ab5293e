"""The three websockets. Each resolves the tenant from the host (or, for customers, from
the public tracking token) and enters that schema itself; groups carry the schema name.

Refusals: the socket is accepted, told why (`{"type": "error", "code"}`) and closed with
4401 (no or bad token, not signed in), 4403 (not allowed: off duty, wrong role, another
tenant's token) or 4404 (unknown tracking link). An open dispatcher socket is closed the
same way once its session no longer signs in a dispatcher (4401 `signed_out`: deactivated,
password changed, signed out; 4403 `not_a_dispatcher`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http.cookie import parse_cookie
from django.utils import translation
from django_tenants.utils import remove_www, schema_context

from core import metrics
from core.i18n import user_language
from core.observability import log_context
from dispatch.models import Driver
from tenants.models import Domain
from tenants.services.tracking_host import tracking_host_schema
from tracking.selectors import customer_snapshot, link_state, tracking_settings
from tracking.services import day as services
from tracking.services.hub import Item, dispatch_group, hub, order_group, user_group
from tracking.services.tokens import BadToken, read_driver_token

log = logging.getLogger(__name__)


def _host(scope: dict) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            return remove_www(value.decode("latin-1").split(":")[0].lower())
    return ""


def tenant_for_host(host: str):
    """The active tenant served at `host`, or None (the public host included, and a
    business's own tracking host, which serves only its tracking pages)."""

    domain = (
        Domain.objects.select_related("tenant").filter(domain=host, is_tracking_host=False).first()
    )
    if domain is None or domain.tenant.schema_name == "public":
        return None
    return domain.tenant if domain.tenant.status == "active" else None


@dataclass(frozen=True)
class Refusal:
    code: int
    reason: str


class RefusingConsumer(AsyncJsonWebsocketConsumer):
    async def dispatch(self, message: dict) -> None:
        """Channels' dispatch without its per-message `aclose_old_connections()` (a hop
        through the one sync thread for every fix and group message: a third of the web
        process's time at 2,000 drivers). Every ORM call here goes through
        `database_sync_to_async`, which closes stale connections itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        with log_context(tenant=getattr(self, "schema", None)):  # its records name the tenant
            await handler(message)

    async def receive(self, text_data: str | None = None, bytes_data=None, **kwargs) -> None:
        """JSON text frames only; anything else is answered, not a crash."""
        try:
            content = json.loads(text_data) if text_data is not None else None
        except ValueError:
            content = None
        if content is None:
            await self.send_json(
                {"type": "error", "code": "not_json", "detail": "Send JSON text frames."}
            )
            return
        await self.receive_json(content)

    #: The metrics label of this kind of socket.
    kind = "other"

    async def accept_counted(self) -> None:
        """Accept a socket that passed its checks, counted in the open-connections gauge."""
        await self.accept()
        self.counted = True
        metrics.WEBSOCKETS_OPEN.labels(self.kind).inc()
        metrics.WEBSOCKETS_ACCEPTED.labels(self.kind).inc()

    async def __call__(self, scope, receive, send) -> None:
        """However the socket ends (closed, an error, the server's close timeout), it
        leaves the open-connections gauge."""
        try:
            await self.serve(scope, receive, send)
        finally:
            if getattr(self, "counted", False):
                self.counted = False
                metrics.WEBSOCKETS_OPEN.labels(self.kind).dec()

    async def serve(self, scope, receive, send) -> None:
        """Channels' consumer loop (the client's messages and the channel layer's)."""
        await super().__call__(scope, receive, send)

    async def refuse(self, refusal: Refusal) -> None:
        code, reason = refusal.code, refusal.reason
        await self.accept()
        await self.send_json({"type": "error", "code": reason})
        await self.close(code=code)

    async def send_event(self, event: dict) -> None:
        """Group messages go to the client as they are, without the routing `type` key
        renamed: `positions`, `position`, `eta`, `stop`, `status`, `plan`, `conversation`
        (a customer's text or an answer, with the tenant's unread count)."""
        await self.send_json(event)

    positions = position = eta = stop = status = plan = conversation = send_event


class TokenBucket:
    """`rate` a second on average, `burst` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


#: A phone that has had this many messages dropped without slowing down is cut off.
CUT_OFF_AFTER = 500


class DriverConsumer(RefusingConsumer):
    """`/ws/driver/?token=…`: the phone streams fixes and reports stops, at most
    DRIVER_SOCKET_RATE messages a second (DRIVER_SOCKET_BURST at once): more are dropped
    with a `rate_limited` answer, and a phone that does not slow down is disconnected."""

    kind = "driver"

    async def receive(self, text_data: str | None = None, bytes_data=None, **kwargs) -> None:
        if getattr(self, "cut_off", False):
            return  # what was still on its way when the phone was cut off
        bucket = getattr(self, "bucket", None)
        if bucket is None:
            bucket = self.bucket = TokenBucket(
                settings.DRIVER_SOCKET_RATE, settings.DRIVER_SOCKET_BURST
            )
            self.dropped = 0
        if not bucket.take():
            self.dropped += 1
            if self.dropped >= CUT_OFF_AFTER:
                self.cut_off = True
                await self.close(code=4429)
            elif self.dropped == 1 or self.dropped % 50 == 0:  # say so, without flooding back
                await self.send_json(
                    {
                        "type": "error",
                        "code": "rate_limited",
                        "detail": "Too many messages: slow down.",
                        "dropped": self.dropped,
                    }
                )
            return
        if bucket.tokens >= bucket.burst / 2:  # it slowed down for a while: forgiven
            self.dropped = 0
        await super().receive(text_data, bytes_data, **kwargs)

    # Nothing is ever sent to a phone through the channel layer (acks come from the hub
    # in this process): no channel, no receive loop in the layer for each of thousands.
    channel_layer_alias = "none: the phone gets nothing through the layer"

    async def serve(self, scope, receive, send) -> None:
        """Channels' loop for a consumer without a channel layer, without its task and
        `asyncio.wait` around every message (`await_many_dispatch` waits on one source
        here): the phone's messages, one after the other, in this task."""
        self.scope, self.channel_layer, self.base_send = scope, None, send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        token = (query.get("token") or [""])[0]
        verdict = await database_sync_to_async(self._authorise)(_host(self.scope), token)
        if isinstance(verdict, Refusal):
            await self.refuse(verdict)
            return
        self.schema, self.driver, self.heading = verdict
        await self.accept_counted()
        await self.send_json(
            {"type": "hello", "driver": self.driver.pk, "heading_to": self.heading}
        )

    def _authorise(self, host: str, token: str):
        tenant = tenant_for_host(host)
        if tenant is None:
            return Refusal(4404, "unknown_host")
        try:
            claim = read_driver_token(token, schema=tenant.schema_name)
        except BadToken as exc:
            return Refusal(4401, str(exc).replace(" ", "_").replace("'", ""))
        with schema_context(tenant.schema_name):
            driver = Driver.objects.filter(
                pk=claim.driver_id, user_id=claim.user_id, is_active=True, user__is_active=True
            ).first()
            if driver is None:
                return Refusal(4403, "not_a_driver")
            if not services.is_on_duty(driver.pk):
                return Refusal(4403, "off_duty")
            # what the phone is told in words (a refused stop's reasons): the driver's language
            self.language = user_language(driver.user, tenant)
            return tenant.schema_name, driver, services.heading_to(driver.pk)

    async def receive_json(self, content: Any, **kwargs) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "fixes":
            await self._fixes(content.get("fixes"))
        elif kind == "stop":
            await self._stop(content)
        else:
            await self.send_json(
                {
                    "type": "error",
                    "code": "unknown_type",
                    "detail": "Send {type: fixes} or {type: stop}.",
                }
            )

    async def _fixes(self, raw: Any) -> None:
        try:
            good, bad = services.fixes_clean(raw)
        except ValidationError as exc:
            await self.send_json({"type": "error", "code": "invalid", "errors": exc.message_dict})
            return
        ids = [item.get("id") if isinstance(item, dict) else None for item in raw]
        bad_indexes = {b["index"] for b in bad}
        good_ids = [i for k, i in enumerate(ids) if k not in bad_indexes]
        items = [
            Item(
                self.driver.pk,
                fix,
                services.next_seq(),
                client_id,
                self,
                self.heading,
                self.driver.name,
            )
            for fix, client_id in zip(good, good_ids, strict=True)
        ]
        if bad:  # refused for good: the phone drops them, nothing else is held up
            await self.send_json(
                {"type": "rejected", "fixes": [{"id": ids[b["index"]], **b} for b in bad]}
            )
        if items:
            hub.add(self.schema, items)

    async def _stop(self, content: dict) -> None:
        try:
            order = await database_sync_to_async(self._stop_event)(content)
        except ValidationError as exc:
            await self.send_json({"type": "error", "code": "invalid", "errors": exc.message_dict})
            return
        self.heading = await database_sync_to_async(self._heading)()
        await self.send_json(
            {
                "type": "stop_ok",
                "order": order.pk,
                "status": order.status,
                "heading_to": self.heading,
            }
        )

    def _stop_event(self, content: dict):
        with schema_context(self.schema), translation.override(self.language):
            return services.stop_event(
                driver=self.driver,
                order_id=content.get("order"),
                event=content.get("event"),
                reason=content.get("reason", ""),
            )

    def _heading(self):
        with schema_context(self.schema):
            return services.heading_to(self.driver.pk)

    async def ack(self, ids: list) -> None:
        """`{"type": "ack", "ids": [...]}`, straight to the server (the hub acknowledges
        thousands a second; the phone's ids are usually its own counter)."""
        if all(type(i) is int for i in ids):
            text = '{"type": "ack", "ids": [' + ", ".join(map(str, ids)) + "]}"
        else:
            text = json.dumps({"type": "ack", "ids": ids})
        await self.base_send({"type": "websocket.send", "text": text})


def _session_user(schema: str, session_key: str | None):
    """The user signed in to `schema` with this session, or None: read as Django reads it
    for a request (an inactive user, or a session made before the password changed, signs
    nobody in)."""
    from types import SimpleNamespace

    from django.contrib.auth import get_user
    from django.contrib.sessions.backends.db import SessionStore

    if not session_key:
        return None
    with schema_context(schema):
        user = get_user(SimpleNamespace(session=SessionStore(session_key=session_key)))
        return user if user.is_authenticated else None


class DispatchConsumer(RefusingConsumer):
    """`/ws/dispatch/`: a signed-in dispatcher receives every position, stop event and
    ETA change of their tenant."""

    kind = "dispatch"

    async def connect(self) -> None:
        # Django's own lenient parser, as for HTTP requests: SimpleCookie raises on a name
        # like `a@b` (another site's cookie on a shared domain) and drops the whole header
        # on one like `a b`, signing the dispatcher out
        cookies: dict[str, str] = {}
        for name, value in self.scope.get("headers", []):
            if name == b"cookie":
                cookies.update(parse_cookie(value.decode("latin-1")))
        verdict = await database_sync_to_async(self._authorise)(
            _host(self.scope), cookies.get(settings.SESSION_COOKIE_NAME) or None
        )
        if isinstance(verdict, Refusal):
            await self.refuse(verdict)
            return
        self.schema, self.user_id = verdict
        self.session_key = cookies.get(settings.SESSION_COOKIE_NAME)
        self.group = dispatch_group(self.schema)
        self.user_group = user_group(self.schema, self.user_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.accept_counted()
        await self.send_json({"type": "hello"})
        self.rechecks = asyncio.create_task(self._recheck_every())

    async def positions(self, event: dict) -> None:
        """Encoded once by the hub for every dispatcher socket."""
        await self.send(text_data=event["text"])

    def _authorise(self, host: str, session_key: str | None):
        tenant = tenant_for_host(host)
        if tenant is None:
            return Refusal(4404, "unknown_host")
        user = _session_user(tenant.schema_name, session_key)
        if user is None:
            return Refusal(4401, "not_signed_in")
        if not user.can_dispatch:
            return Refusal(4403, "not_a_dispatcher")
        return tenant.schema_name, user.pk

    def _still_refusal(self) -> Refusal | None:
        """Why this open socket may no longer listen, or None."""
        user = _session_user(self.schema, self.session_key)
        if user is None or user.pk != self.user_id:
            return Refusal(4401, "signed_out")
        if not user.can_dispatch:
            return Refusal(4403, "not_a_dispatcher")
        return None

    async def _check_again(self, refusal: Refusal | None = None) -> None:
        if refusal is None:
            refusal = await database_sync_to_async(self._still_refusal)()
        if refusal is not None and not getattr(self, "closing", False):
            self.closing = True
            await self.send_json({"type": "error", "code": refusal.reason})
            await self.close(code=refusal.code)

    async def _recheck_every(self) -> None:
        """Changes this process hears of close the socket at once (`user_changed`); the
        rest (another process without a shared channel layer, a bulk update) within
        DISPATCH_SOCKET_RECHECK_S."""
        while not getattr(self, "closing", False):
            await asyncio.sleep(settings.DISPATCH_SOCKET_RECHECK_S)
            try:
                await self._check_again()
            except Exception:  # the database away: the next round tries again
                log.warning("dispatcher socket: could not check its session", exc_info=True)

    async def user_changed(self, event: dict) -> None:
        """The user was changed or signed out (tracking.receivers)."""
        if event.get("ended_session") and event["ended_session"] == self.session_key:
            await self._check_again(Refusal(4401, "signed_out"))
        else:
            await self._check_again()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "rechecks", None):
            self.rechecks.cancel()
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(self.user_group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs) -> None:
        await self._check_again()  # listens only; whatever it is sent, it checks who is here


class TrackConsumer(RefusingConsumer):
    """`/ws/track/<token>/`: the customer of one order; the driver's position only while
    the driver is on the way to them, and their order's status and ETA. Nothing else."""

    kind = "track"

    async def connect(self) -> None:
        token = self.scope["url_route"]["kwargs"]["token"]
        verdict = await database_sync_to_async(self._authorise)(token, _host(self.scope))
        if verdict is None:
            await self.refuse(Refusal(4404, "unknown_link"))
            return
        self.schema, self.order_id, snapshot = verdict
        self.group = order_group(self.schema, self.order_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept_counted()
        await self.send_json({"type": "snapshot", **snapshot})

    def _authorise(self, token: str, host: str = ""):
        state = link_state(token)
        if state is None or state.expired:
            return None
        on_own_host = tracking_host_schema(host)  # a business's own host: its links only
        if on_own_host is not None and on_own_host != state.schema:
            return None
        with schema_context(state.schema):
            row = tracking_settings()
            snapshot = customer_snapshot(state.order_id, settings_row=row)
            if snapshot is None:
                return None
            self.show_map = row.tracking_show_map
            return state.schema, state.order_id, snapshot

    async def position(self, event: dict) -> None:
        """The driver's position, only while they head here (the hub sends it only then)
        and only when the business shows the map."""
        if getattr(self, "show_map", False):
            await self.send_json(event)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs) -> None:
        pass  # listen only
