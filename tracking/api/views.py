"""Tracking over HTTP: the phone's offline batches, and the snapshot a reconnecting map
starts from."""

from __future__ import annotations

import logging
from dataclasses import asdict

from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import authentication, exceptions, serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import metrics
from dispatch.models import Driver, Order
from tracking.api.serializers import DrivePathSerializer, EtaSerializer
from tracking.selectors import customer_promise, order_eta
from tracking.services import day as services
from tracking.services.hub import fan_out
from tracking.services.paths import driver_path
from tracking.services.tokens import BadToken, read_driver_token
from tracking.throttling import DriverRateThrottle

logger = logging.getLogger(__name__)


class DriverPrincipal:
    """`request.user` for a request made with a driver token."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    can_dispatch = False
    pk = None

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.email = f"driver:{driver.pk}"


class DriverTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Driver <token>`: the driver app's token, for this host's tenant."""

    keyword = "Driver"

    def authenticate(self, request: Request):
        # Parsed strictly (issue 22): the scheme (any case), ONE ASCII space, then a signed
        # token's own characters; str.split() would take `\xa0` or `\x1f` for a space.
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if isinstance(header, bytes):
            header = header.decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if not (scheme.isascii() and scheme.isalnum()):
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        if scheme.lower() != self.keyword.lower():
            return None
        if not (token.isascii() and token and all(c.isalnum() or c in "-_:." for c in token)):
            raise exceptions.AuthenticationFailed("Authorization: Driver <token>.")
        try:
            claim = read_driver_token(token, schema=connection.schema_name)
        except BadToken as exc:
            raise exceptions.AuthenticationFailed(f"Driver token refused: {exc}.") from exc
        driver = Driver.objects.filter(
            pk=claim.driver_id, user_id=claim.user_id, is_active=True, user__is_active=True
        ).first()
        if driver is None:
            raise exceptions.AuthenticationFailed("This token's driver is no longer active.")
        return DriverPrincipal(driver), claim

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class IsDriver(BasePermission):
    message = "This endpoint takes a driver token."

    def has_permission(self, request: Request, view) -> bool:
        return isinstance(request.user, DriverPrincipal)


class PingBatchApi(APIView):
    authentication_classes = [DriverTokenAuthentication]
    permission_classes = [IsDriver]
    throttle_classes = [DriverRateThrottle]

    @extend_schema(
        operation_id="driver_pings_batch",
        request=inline_serializer(
            "PingBatch", {"fixes": serializers.ListField(child=serializers.DictField())}
        ),
        responses=inline_serializer(
            "PingBatchResult",
            {
                "received": serializers.IntegerField(),
                "stored": serializers.IntegerField(),
                "duplicates": serializers.IntegerField(),
                "rejected": serializers.ListField(child=serializers.DictField()),
            },
        ),
        examples=[
            OpenApiExample(
                "Two fixes",
                value={
                    "fixes": [
                        {
                            "t": "2026-12-01T09:00:00+00:00",
                            "lat": 51.5,
                            "lng": -0.12,
                            "accuracy_m": 8,
                        },
                        {"t": 1796202060000, "lat": 51.501, "lng": -0.121, "speed_mps": 6.5},
                    ]
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        """Fixes the phone collected while offline, in any order: each stored once (by
        driver and phone time), the map moved only by newer ones. Bad fixes are listed in
        `rejected` (by index) and the rest stored; the phone drops both."""
        driver = request.user.driver
        if not services.is_on_duty(driver.pk):
            raise exceptions.PermissionDenied("You are off duty.")
        try:
            good, bad = services.fixes_clean(
                request.data.get("fixes") if isinstance(request.data, dict) else None
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        stored = services.fixes_store((driver.pk, fix, services.next_seq()) for fix in good)
        if stored.new:
            heading = {driver.pk: services.heading_to(driver.pk)}
            try:
                async_to_sync(fan_out)(
                    connection.schema_name, stored, heading, (), {driver.pk: driver.name}
                )
            except Exception:  # stored, so acknowledged: maps catch up when they reconnect
                metrics.BROADCASTS_FAILED.inc()
                logger.warning("positions of driver %s not fanned out", driver.pk, exc_info=True)
        return Response(
            {
                "received": len(good) + len(bad),
                "stored": len(stored.new),
                "duplicates": len(good) - len(stored.new),
                "rejected": bad,
            }
        )


class PositionsApi(APIView):
    @extend_schema(
        operation_id="positions_snapshot",
        responses=inline_serializer(
            "PositionsSnapshot",
            {
                "positions": serializers.ListField(child=serializers.DictField()),
                "seq": serializers.IntegerField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        """Every driver's latest position, and the newest sequence number: a map that
        (re)connects starts here and ignores socket messages older than what it has."""
        return Response(services.positions_snapshot())


class OrderEtaApi(APIView):
    @extend_schema(operation_id="orders_eta", responses=EtaSerializer)
    def get(self, request: Request, order_id: int) -> Response:
        """An order's expected arrival: as published, and as the driver's progress moves it."""
        order = Order.objects.filter(pk=order_id).first()
        if order is None:
            raise Http404
        eta = order_eta(order)
        promise = customer_promise(order, live=eta)
        return Response(EtaSerializer({**asdict(eta), "promise": promise.as_message()}).data)


class DriverPathApi(APIView):
    @extend_schema(operation_id="drivers_path", responses=DrivePathSerializer)
    def get(self, request: Request, driver_id: int) -> Response:
        """The driver's road path still to drive today, from their last position through
        the stops still to do, back to the depot (the live map asks for it)."""
        if not Driver.objects.filter(pk=driver_id).exists():
            raise Http404
        return Response(driver_path(driver_id))
