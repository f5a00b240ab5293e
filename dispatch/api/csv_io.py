"""CSV import (upload, map, preview, commit) and CSV export of orders."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.api.common import actor_for
from dispatch.models import CsvImport
from dispatch.selectors.orders import OrderFilter, orders_list
from dispatch.services import csv_io


class CsvTextParser(BaseParser):
    """A raw `text/csv` body, handed on as bytes."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read()


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line in the file; the header is line 1.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class CsvImportOutputSerializer(serializers.ModelSerializer):
    headers = serializers.SerializerMethodField()
    errors = ImportErrorSerializer(many=True)

    class Meta:
        model = CsvImport
        fields = [
            "id", "filename", "status", "headers", "mapping", "default_delivery_date",
            "row_count", "valid_count", "created_count", "existing_count", "errors",
            "created_at", "imported_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_headers(self, csv_import: CsvImport) -> list[str]:
        return csv_io.csv_headers(csv_import)


class CsvUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="Or send the CSV itself as a text/csv body.")


class CsvMappingInputSerializer(serializers.Serializer):
    mapping = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        help_text="order field → column header; fields: " + ", ".join(csv_io.TARGETS),
    )
    default_delivery_date = serializers.DateField(required=False, allow_null=True)


class CsvPreviewSerializer(serializers.Serializer):
    row_count = serializers.IntegerField()
    valid = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)
    sample = serializers.ListField(child=serializers.DictField())


def _import(import_id: int) -> CsvImport:
    return get_object_or_404(CsvImport, pk=import_id)


class CsvImportListApi(APIView):
    parser_classes = [MultiPartParser, CsvTextParser]

    @extend_schema(
        request={"multipart/form-data": CsvUploadSerializer, "text/csv": OpenApiTypes.BINARY},
        responses={201: CsvImportOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        """Upload a CSV of orders; the answer suggests which column fills which field."""
        if isinstance(request.data, bytes):
            filename, content = "upload.csv", request.data
        else:
            upload = request.data.get("file")
            if upload is None or isinstance(upload, str):
                raise ValidationError({"file": ["Send the CSV as the 'file' field."]})
            filename, content = upload.name, upload.read(csv_io.MAX_BYTES + 1)
        csv_import = csv_io.csv_import_start(filename=filename, content=content, user=request.user)
        return Response(CsvImportOutputSerializer(csv_import).data, status=status.HTTP_201_CREATED)


class CsvImportDetailApi(APIView):
    @extend_schema(responses=CsvImportOutputSerializer)
    def get(self, request: Request, import_id: int) -> Response:
        return Response(CsvImportOutputSerializer(_import(import_id)).data)


class CsvImportMappingApi(APIView):
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
    @extend_schema(responses=CsvPreviewSerializer)
    def get(self, request: Request, import_id: int) -> Response:
        """Every row checked: the errors by line, and the first rows as they will be read."""
        preview = csv_io.csv_import_preview(csv_import=_import(import_id))
        return Response(CsvPreviewSerializer(preview).data)


class CsvImportCommitApi(APIView):
    @extend_schema(request=None, responses=CsvImportOutputSerializer)
    def post(self, request: Request, import_id: int) -> Response:
        """Create the good rows' orders (once: committing again answers the same)."""
        csv_import = csv_io.csv_import_commit(
            csv_import=_import(import_id), actor=actor_for(request)
        )
        return Response(CsvImportOutputSerializer(csv_import).data)


def csv_download(rows, *, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class OrderExportApi(GenericAPIView):
    queryset = orders_list()
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter
    pagination_class = None

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)})
    def get(self, request: Request) -> StreamingHttpResponse:
        """The filtered orders as CSV, in the columns the importer reads back."""
        orders = self.filter_queryset(self.get_queryset()).order_by("delivery_date", "id")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        return csv_download(csv_io.orders_csv(orders), name=f"orders-{stamp}.csv")
