"""CSV import (upload, map, preview, commit) and CSV export of orders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.api.serializers.csv_io import (
    CsvCommitOutputSerializer,
    CsvImportOutputSerializer,
    CsvMappingInputSerializer,
    CsvPreviewSerializer,
    CsvUploadSerializer,
)
from dispatch.models import CsvImport
from dispatch.selectors.orders import OrderFilter, orders_list
from dispatch.services import csv_io
from tenants.models import ApiKey
from tenants.permissions import HasApiAccess


class CanImport(HasApiAccess):
    """Imports hold customers' details and end in writes: a read-write key or a
    dispatcher, even to read them."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, ApiKey) and not request.auth.can_write:
            self.message = "This API key is read-only."
            return False
        return super().has_permission(request, view)


class CsvTextParser(BaseParser):
    """A raw `text/csv` body, handed on as bytes (one byte past the limit at most, so
    that an oversized body is refused without being read whole)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read(csv_io.MAX_BYTES + 1) if stream is not None else b""


class PlainTextParser(CsvTextParser):
    media_type = "text/plain"


def _import(import_id: int) -> CsvImport:
    return get_object_or_404(CsvImport, pk=import_id)


class CsvImportListApi(APIView):
    permission_classes = [CanImport]
    parser_classes = [MultiPartParser, CsvTextParser, PlainTextParser]

    @extend_schema(
        request={
            "multipart/form-data": CsvUploadSerializer,
            "text/csv": OpenApiTypes.BINARY,
        },
        parameters=[
            OpenApiParameter("filename", str, description="The file's name, for a text/csv body.")
        ],
        responses={201: CsvImportOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        """Upload a CSV of orders (≤ 5 MB, ≤ 10,000 rows); the answer has its columns and a
        suggested mapping."""
        if isinstance(request.data, bytes) or request.content_type.startswith("text/"):
            # (DRF hands an empty body over as {} without asking the parser.)
            content = request.data if isinstance(request.data, bytes) else b""
            filename = request.query_params.get("filename", "upload.csv")
        else:
            upload = request.data.get("file")
            if upload is None or isinstance(upload, str):
                raise ValidationError({"file": ["Send the CSV as the 'file' field."]})
            filename, content = upload.name, upload.read(csv_io.MAX_BYTES + 1)
        csv_import = csv_io.csv_import_start(filename=filename, content=content, user=request.user)
        return Response(CsvImportOutputSerializer(csv_import).data, status=status.HTTP_201_CREATED)


class CsvImportDetailApi(APIView):
    permission_classes = [CanImport]

    @extend_schema(responses=CsvImportOutputSerializer)
    def get(self, request: Request, import_id: int) -> Response:
        """An upload: its columns, mapping, status and (after a preview) its bad lines."""
        return Response(CsvImportOutputSerializer(_import(import_id)).data)


class CsvImportMappingApi(APIView):
    permission_classes = [CanImport]

    @extend_schema(request=CsvMappingInputSerializer, responses=CsvImportOutputSerializer)
    def put(self, request: Request, import_id: int) -> Response:
        """Choose the columns (a field left out or mapped to "" is not imported)."""
        csv_import = _import(import_id)
        serializer = CsvMappingInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        csv_import = csv_io.csv_import_set_mapping(
            csv_import=csv_import, **serializer.validated_data
        )
        return Response(CsvImportOutputSerializer(csv_import).data)


class CsvImportPreviewApi(APIView):
    permission_classes = [CanImport]

    @extend_schema(responses=CsvPreviewSerializer)
    def get(self, request: Request, import_id: int) -> Response:
        """Check every row with the mapping: the bad lines with their errors, and the first
        rows as they will be read. Needed once before the commit."""
        preview = csv_io.csv_import_preview(csv_import=_import(import_id))
        return Response(CsvPreviewSerializer(preview).data)


class CsvImportCommitApi(APIView):
    permission_classes = [CanImport]

    @extend_schema(request=None, responses=CsvCommitOutputSerializer)
    def post(self, request: Request, import_id: int) -> Response:
        """Create the good rows' orders, once: committing again creates nothing and
        answers the stored counts and bad lines (`replayed`)."""
        result = csv_io.csv_import_commit(csv_import=_import(import_id))
        return Response(
            CsvCommitOutputSerializer(result.csv_import, context={"result": result}).data
        )


def csv_download(lines: Iterable[str], *, name: str) -> StreamingHttpResponse:
    """A streamed CSV attachment called `name` (which must be a plain file name)."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def export_name(delivery_date: str | None = None) -> str:
    """orders-2026-12-01.csv for a day's orders, else orders-<now>.csv."""
    try:
        return f"orders-{dt.date.fromisoformat(delivery_date or ''):%Y-%m-%d}.csv"
    except ValueError:
        return f"orders-{timezone.localtime():%Y%m%d-%H%M}.csv"


class OrderExportApi(GenericAPIView):
    queryset = orders_list()
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter
    pagination_class = None

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)})
    def get(self, request: Request) -> StreamingHttpResponse:
        """The filtered orders as CSV, in the columns the importer reads back."""
        orders = self.filter_queryset(self.get_queryset()).order_by("delivery_date", "id")
        name = export_name(request.query_params.get("delivery_date"))
        csv_io.orders_export_recorded(orders, request.query_params.dict())
        return csv_download(csv_io.orders_csv(orders), name=name)
