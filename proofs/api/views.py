"""Proof of delivery over the API: what was recorded for an order, and its pictures."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.models import Order
from proofs.models import DeliveryProof
from proofs.services.proof import proofs_of
from proofs.views import proof_file_response


class ProofSerializer(serializers.ModelSerializer):
    driver = serializers.CharField(source="driver.name", default=None, read_only=True)
    photo_url = serializers.SerializerMethodField()
    signature_url = serializers.SerializerMethodField()

    class Meta:
        model = DeliveryProof
        fields = [
            "id",
            "outcome",
            "created_at",
            "driver",
            "recipient_name",
            "notes",
            "reason",
            "lat",
            "lng",
            "photo_url",
            "signature_url",
        ]

    def _url(self, proof: DeliveryProof, kind: str) -> str | None:
        if not getattr(proof, kind):
            return None
        path = reverse("api-order-proof-file", args=[proof.order_id, proof.pk, kind])
        return self.context["request"].build_absolute_uri(path)

    def get_photo_url(self, proof: DeliveryProof) -> str | None:
        return self._url(proof, "photo")

    def get_signature_url(self, proof: DeliveryProof) -> str | None:
        return self._url(proof, "signature")


class OrderProofsApi(APIView):
    @extend_schema(responses=ProofSerializer(many=True))
    def get(self, request: Request, order_id: int) -> Response:
        """What the driver recorded at the door, oldest first (a failed attempt, then the
        delivery): outcome, recipient, notes, reason, where, and links to the pictures."""
        order = get_object_or_404(Order, pk=order_id)
        return Response(
            ProofSerializer(proofs_of(order), many=True, context={"request": request}).data
        )


class OrderProofFileApi(APIView):
    @extend_schema(
        responses={
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="the photo"),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="the signature"),
            404: OpenApiResponse(description="no such order, proof or picture"),
        }
    )
    def get(self, request: Request, order_id: int, proof_id: int, kind: str):
        """One picture of a proof: `photo` (JPEG) or `signature` (PNG)."""
        proof = get_object_or_404(DeliveryProof, pk=proof_id, order_id=order_id)
        return proof_file_response(proof, kind)
