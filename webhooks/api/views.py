"""The webhooks API: subscriptions, their delivery log, and replays. For a write API key
or the owner: subscriptions carry the signing secret."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import current_actor
from core.json_types import JSONTypedSerializer
from tenants.models import ApiKey
from webhooks import services
from webhooks.models import Attempt, Delivery, Event, Subscription


class CanManageWebhooks(BasePermission):
    message = "Webhooks need a write API key or the owner's login."

    def has_permission(self, request: Request, view: APIView) -> bool:
        key = request.auth if isinstance(request.auth, ApiKey) else None
        if key is not None:
            return bool(key.can_write)
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "is_owner", False))


class SubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices))

    class Meta:
        model = Subscription
        fields = ["id", "url", "events", "description", "active", "secret", "created_at"]
        read_only_fields = ["id", "secret", "created_at"]


class SubscriptionInputSerializer(JSONTypedSerializer):
    """Shape only; the service checks the URL (public addresses only) and the events."""

    url = serializers.CharField(max_length=500)
    events = serializers.ListField(child=serializers.CharField(max_length=40))
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["at", "status_code", "error", "duration_ms"]


class DeliverySerializer(serializers.ModelSerializer):
    tries = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "message_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "payload",
            "tries",
        ]


def _body(request: Request, *, partial: bool = False) -> dict:
    if not isinstance(request.data, dict):
        raise ParseError("Send a JSON object.")
    # what the server sets is refused, not silently dropped (a client sending its own
    # `secret` must learn that deliveries are not signed with it)
    unknown = sorted(set(request.data) - set(SubscriptionInputSerializer().fields))
    if unknown:
        raise serializers.ValidationError(
            {
                name: ["Made by the server; it cannot be set."]
                if name in SubscriptionSerializer.Meta.read_only_fields
                else ["Unknown field."]
                for name in unknown
            }
        )
    serializer = SubscriptionInputSerializer(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class SubscriptionListApi(APIView):
    permission_classes = [CanManageWebhooks]

    @extend_schema(responses=SubscriptionSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The business's webhook subscriptions (with their signing secrets)."""
        return Response(SubscriptionSerializer(Subscription.objects.all(), many=True).data)

    @extend_schema(request=SubscriptionInputSerializer, responses={201: SubscriptionSerializer})
    def post(self, request: Request) -> Response:
        """Subscribe a URL to events. The URL must resolve to public addresses only; the
        answer carries the secret that signs every delivery (Standard Webhooks)."""
        data = _body(request)
        data.pop("active", None)
        subscription = services.subscription_create(actor=current_actor(), **data)
        return Response(SubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailApi(APIView):
    permission_classes = [CanManageWebhooks]

    @extend_schema(responses=SubscriptionSerializer)
    def get(self, request: Request, subscription_id: int) -> Response:
        subscription = get_object_or_404(Subscription, pk=subscription_id)
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(
        request=SubscriptionInputSerializer(partial=True), responses=SubscriptionSerializer
    )
    def patch(self, request: Request, subscription_id: int) -> Response:
        subscription = get_object_or_404(Subscription, pk=subscription_id)
        subscription = services.subscription_update(
            subscription=subscription, data=_body(request, partial=True)
        )
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, subscription_id: int) -> Response:
        services.subscription_delete(
            subscription=get_object_or_404(Subscription, pk=subscription_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryListApi(ListAPIView):
    """The subscription's deliveries, newest first, each with its tries (status codes and
    our side's errors; never the receiver's answer). Filter with `?status=`."""

    permission_classes = [CanManageWebhooks]
    serializer_class = DeliverySerializer
    filter_backends: list = []

    def get_queryset(self):
        subscription = get_object_or_404(Subscription, pk=self.kwargs["subscription_id"])
        deliveries = subscription.deliveries.prefetch_related("tries").order_by("-id")
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in Delivery.Status.values:
                raise serializers.ValidationError(
                    {"status": [f"One of: {', '.join(Delivery.Status.values)}."]}
                )
            deliveries = deliveries.filter(status=wanted)
        return deliveries


class DeliveryReplayApi(APIView):
    permission_classes = [CanManageWebhooks]

    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request: Request, subscription_id: int, delivery_id: int) -> Response:
        """Send a delivery again, with the same webhook-id (the receiver can tell it is
        the same event) and a fresh set of tries."""
        delivery = get_object_or_404(Delivery, pk=delivery_id, subscription_id=subscription_id)
        delivery = services.delivery_replay(delivery=delivery)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
