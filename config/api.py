"""API-wide defaults: capped cursor pagination and one JSON shape for every error."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class CappedCursorPagination(CursorPagination):
    """Stable under inserts (cursor, not offset); `page_size` up to 500, default 50."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"


def _error_body(exc: exceptions.APIException, data: object) -> dict:
    code = exc.get_codes()
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        return {"detail": "Invalid input.", "code": "invalid", "errors": errors}
    if isinstance(data, dict) and "detail" in data:
        data = data["detail"]
    return {"detail": str(data), "code": code if isinstance(code, str) else "error"}


def json_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, with Django's ValidationError as a 400 and a stable body:

    ``{"detail": "...", "code": "...", "errors": {"field": ["message", ...]}}``
    (``errors`` only on validation errors). Unexpected errors are logged and answered as
    JSON 500 rather than an HTML page.
    """
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            {"detail": "Internal server error.", "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    response.data = _error_body(exc, response.data)
    return response
