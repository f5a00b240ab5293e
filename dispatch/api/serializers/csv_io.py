"""CSV import shapes for the API: the upload, the mapping, the preview, the result."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.json_types import JSONTypedSerializer
from dispatch.models import CsvImport
from dispatch.services import csv_io


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line in the file; the header is line 1.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="order field (or `row`) → messages",
    )


class CsvImportOutputSerializer(serializers.ModelSerializer):
    # A plain string in the schema: another enum named "status" beside the orders' one
    # would need a naming override in the settings.
    status = serializers.CharField(help_text="uploaded → previewed → imported")
    headers = serializers.SerializerMethodField()
    mapping = serializers.DictField(
        child=serializers.CharField(),
        help_text="order field → column; after the upload, the suggestion from the headers",
    )
    invalid_count = serializers.SerializerMethodField()
    errors = ImportErrorSerializer(many=True, help_text="The bad lines (after a preview).")

    class Meta:
        model = CsvImport
        fields = [
            "id",
            "filename",
            "status",
            "delimiter",
            "headers",
            "mapping",
            "default_delivery_date",
            "keep_undated",
            "row_count",
            "valid_count",
            "invalid_count",
            "created_count",
            "existing_count",
            "errors",
            "created_at",
            "imported_at",
        ]
        read_only_fields = fields

    def get_headers(self, csv_import: CsvImport) -> list[str]:
        return csv_io.csv_headers(csv_import)

    def get_invalid_count(self, csv_import: CsvImport) -> int:
        return len(csv_import.errors)


class CsvUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="Or send the CSV itself as a text/csv body.")


class CsvMappingInputSerializer(JSONTypedSerializer):
    mapping = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        help_text='order field → column header ("" or left out: not imported); fields: '
        + ", ".join(csv_io.TARGETS),
    )
    default_delivery_date = serializers.DateField(
        required=False, allow_null=True, help_text="For rows without a date."
    )
    keep_undated = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Rows whose date cannot be read are imported as orders needing a date "
        "(`needs_date`), instead of being bad lines.",
    )


class PreviewRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    values = serializers.DictField(
        child=serializers.CharField(allow_blank=True), help_text="order field → the cell"
    )
    data = serializers.DictField(help_text="The order as it will be sent to validation.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class CsvPreviewSerializer(serializers.Serializer):
    row_count = serializers.IntegerField()
    valid = serializers.IntegerField()
    invalid = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True, help_text="Every bad line.")
    sample = PreviewRowSerializer(many=True, help_text=f"The first {csv_io.SAMPLE_ROWS} lines.")
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="What could create orders twice (the same file imported before, no "
        "reference column).",
    )


class LineResultSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    status = serializers.CharField(help_text="created | exists (same reference) | invalid")
    id = serializers.IntegerField(allow_null=True, help_text="The order (created or existing).")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class CsvCommitOutputSerializer(CsvImportOutputSerializer):
    replayed = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()

    class Meta(CsvImportOutputSerializer.Meta):
        fields = [*CsvImportOutputSerializer.Meta.fields, "replayed", "results"]
        read_only_fields = fields

    def get_replayed(self, csv_import: CsvImport) -> bool:
        return self.context["result"].replayed

    @extend_schema_field(LineResultSerializer(many=True, allow_null=True))
    def get_results(self, csv_import: CsvImport) -> list[dict] | None:
        """Every line's outcome, in the first answer; null in a replayed one."""
        return self.context["result"].lines
