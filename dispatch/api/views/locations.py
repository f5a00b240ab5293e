"""Address search for API clients: the business's own road region (and its dispatchers'
corrections), the same answers the dashboard's type-ahead gets."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.api.serializers.locations import (
    AddressSearchInputSerializer,
    AddressSearchOutputSerializer,
)
from dispatch.selectors.locations import address_candidates


class AddressSearchApi(APIView):
    """Candidates for an address, best first (at most `limit`, so not paginated)."""

    @extend_schema(
        summary="Search addresses",
        description=(
            "Searches your road region's addresses (imported from its OpenStreetMap extract) "
            "and the locations your dispatchers corrected, best first. Typos, missing accents, "
            "the number before or after the street, postcode and city optional. Empty "
            "`results` when nothing is near; `message` says when your business has no road "
            "region to search. Data © OpenStreetMap contributors (ODbL): show `attribution` "
            "where you show the results."
        ),
        parameters=[AddressSearchInputSerializer],
        responses=AddressSearchOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        params = AddressSearchInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        answer = address_candidates(
            query=params.validated_data["q"], limit=params.validated_data["limit"]
        )
        return Response(
            AddressSearchOutputSerializer(
                {
                    "region": answer.region,
                    "results": [c.as_dict() for c in answer.results],
                    "message": answer.message,
                    "attribution": answer.attribution,
                }
            ).data
        )
