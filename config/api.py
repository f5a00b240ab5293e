"""API-wide defaults: capped cursor pagination and one JSON shape for every error."""

from __future__ import annotations

import io
import logging

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, parsers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.utils import json
from rest_framework.views import exception_handler

from core.bulk import UNSTORABLE, unstorable_message
from core.json_types import JSONObject
from tenants.middleware import database_unavailable

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
        # always field → list of messages, however the error was raised
        errors = {k: v if isinstance(v, list) else [v] for k, v in errors.items()}
        return {"detail": "Invalid input.", "code": "invalid", "errors": errors}
    if isinstance(data, dict) and "detail" in data:
        data = data["detail"]
    return {"detail": str(data), "code": code if isinstance(code, str) else "error"}


class RequestTooLarge(exceptions.APIException):
    """A request body over DATA_UPLOAD_MAX_MEMORY_SIZE, whatever its content type."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(f"The request body is larger than {limit} bytes.")


def json_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, with Django's ValidationError as a 400 and a stable body:

    ``{"detail": "...", "code": "...", "errors": {"field": ["message", ...]}}``
    (``errors`` only on validation errors). Unexpected errors are logged and answered as
    JSON 500 rather than an HTML page.
    """
    if isinstance(exc, DataError):  # a value the database cannot hold (too large a number…)
        logger.info("API input the database refused: %s", exc)
        exc = exceptions.ValidationError(
            {"non_field_errors": ["A value in the request is out of range or not storable."]}
        )
    if isinstance(exc, RequestDataTooBig):  # Django's multipart parser, for DRF's
        exc = RequestTooLarge()
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = exceptions.ParseError(str(exc))
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, (OperationalError, InterfaceError)):  # the database went away
        return database_unavailable(context["request"])
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            {"detail": "Internal server error.", "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    response.data = _error_body(exc, response.data)
    return response


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error: `errors` (field → messages) only on validation errors.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {}},
        },
    },
    "required": ["detail", "code"],
}
ERRORS = {
    "400": "Invalid input: `errors` says what, by field.",
    "401": "No credentials, or credentials this host does not know.",
    "403": "Not allowed for these credentials (a read-only key writing, a driver, a role).",
    "404": "Not found on this tenant.",
    "405": "Method not allowed.",
    "406": "Not acceptable (ask for JSON).",
    "415": "Unsupported media type (send JSON).",
    "429": "Too many requests: slow down (see Retry-After).",
    "503": "The database is unavailable for a moment and nothing was done: send the "
    "request again after Retry-After seconds.",
}
#: Only operations that take a body can be sent one too large.
TOO_LARGE = "The request body is larger than the upload limit (DATA_UPLOAD_MAX_MEMORY_SIZE)."
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}}


def document_errors(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook: every operation documents the error answers
    every endpoint can give, in the one error shape (`config.api.json_exception_handler`)."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    _local_times(result)
    ref = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])):
                responses.setdefault(
                    "409",
                    {
                        "description": "This Idempotency-Key was used with another request body.",
                        "content": {"application/json": {"schema": ref}},
                    },
                )
            if "requestBody" in operation:
                responses.setdefault("413", {"description": TOO_LARGE})
            for status_code, description in ERRORS.items():
                responses.setdefault(status_code, {"description": description})
            for status_code, answer in responses.items():  # one shape, whoever documents it
                if status_code in ERRORS or status_code == "413":
                    answer.setdefault("content", {"application/json": {"schema": ref}})
            responses["503"].setdefault("headers", RETRY_AFTER)
    return result


#: Deepest nesting of arrays and objects a request body may have. The API's deepest
#: request is a bulk item's time window, {"orders": [{"time_windows": [{...}]}]}: 5 levels.
MAX_JSON_DEPTH = 32
_TOO_DEEP = f"JSON nested too deep: at most {MAX_JSON_DEPTH} levels of arrays and objects."


def _path(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _refuse_unstorable_text(text: str, path: tuple[str | int, ...], *, key: bool) -> None:
    """`path`: where the value is, or for a key the object holding it (its parts are keys
    already checked, so the error can name them)."""
    found = UNSTORABLE.search(text)
    if found is None:
        return
    if found.group() == "\x00":
        raise exceptions.ParseError("Text in the request may not contain NUL characters.")
    message = unstorable_message(found.group())
    if key:
        message = f"{message[:-1]} (in a key{' of ' + _path(path) if path else ''})."
    elif len(path) > 1:
        message = f"{message[:-1]} (at {_path(path)})."
    field = path[0] if path and isinstance(path[0], str) else "non_field_errors"
    raise exceptions.ValidationError({field: [message]})


def _check_parsed(data: object) -> None:
    """Refuse a parsed body nested deeper than MAX_JSON_DEPTH or holding text the database
    cannot store (in values and keys). Iterative: no body can exhaust the stack."""
    if isinstance(data, str):
        _refuse_unstorable_text(data, (), key=False)
    stack: list[tuple[object, int, tuple[str | int, ...]]] = [(data, 1, ())]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise exceptions.ParseError(_TOO_DEEP)
        for name, item in items:
            here = (*path, name)
            if isinstance(name, str):
                _refuse_unstorable_text(name, path, key=True)
            if isinstance(item, str):
                _refuse_unstorable_text(item, here, key=False)
            elif isinstance(item, (dict, list)):
                stack.append((item, depth + 1, here))


class JSONParser(parsers.JSONParser):
    """JSON, refused with a 400 when PostgreSQL could not store its text (NUL characters,
    lone UTF-16 surrogates: the field named), when nested deeper than MAX_JSON_DEPTH, or
    when larger than DATA_UPLOAD_MAX_MEMORY_SIZE: never a 500 from the decoder or the
    database."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge()
        try:
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(  # objects as JSONObject: held to their fields' JSON types
                raw.decode(encoding), parse_constant=parse_constant, object_hook=JSONObject
            )
        except RecursionError:  # the decoder recurses once per level
            raise exceptions.ParseError(_TOO_DEEP) from None
        except ValueError as exc:  # not JSON, or not text in this encoding
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        _check_parsed(data)
        return data


LOCAL_TIME = {
    "type": "string",
    "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$",
    "description": "A local wall-clock time (HH:MM or HH:MM:SS), no time zone.",
}


def _local_times(node: object) -> None:
    """Times of day in this API are the tenant's local wall-clock times, without an offset;
    JSON Schema's `time` format demands one, so they are documented by their pattern."""
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "time":
            node.pop("format")
            node.setdefault("pattern", LOCAL_TIME["pattern"])
        for value in node.values():
            _local_times(value)
    elif isinstance(node, list):
        for value in node:
            _local_times(value)


class FormParser(parsers.FormParser):
    """DRF's form parser reads the body whole, past DATA_UPLOAD_MAX_MEMORY_SIZE (Django
    checks it only in `request.body` and `request.POST`): held to the limit here."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge()
        return super().parse(io.BytesIO(raw), media_type, parser_context)


@csrf_exempt  # like the API's own views: a POST here gets the 404, not a CSRF page
def api_not_found(request, *args, **kwargs):
    """Any other path under /api/: a JSON 404 like the API's own (never an HTML page)."""
    from django.http import JsonResponse

    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
