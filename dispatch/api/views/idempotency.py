"""`Idempotency-Key` for create endpoints: same key and body → the same answer, replayed.

The record is inserted first and locked for the length of the request, so a concurrent
repeat waits for the first to finish and then replays its answer instead of creating
twice. The same key with a different body is a client error (409).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import transaction
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from audit.services import current_actor
from dispatch.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This Idempotency-Key was used with a different request body."
    default_code = "idempotency_key_reused"


def idempotent_response(
    request: Request, *, endpoint: str, handler: Callable[[], Response]
) -> Response:
    """Run `handler` once per (client, endpoint, key); replay its answer for repeats."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return handler()
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationError({HEADER: [f"At most {MAX_KEY_LENGTH} characters."]})
    principal = current_actor()[:64]  # user:<email> or api_key:<prefix>
    # the body as parsed (DRF has read the stream by now, so the raw body may be gone):
    # canonical JSON, so the same data sent twice is the same request
    canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    lookup = {"principal": principal, "endpoint": endpoint, "key": key}
    with transaction.atomic():
        IdempotencyRecord.objects.bulk_create(
            [IdempotencyRecord(**lookup, request_sha256=digest)], ignore_conflicts=True
        )
        record = IdempotencyRecord.objects.select_for_update().get(**lookup)
        if record.request_sha256 != digest:
            raise IdempotencyKeyReused()
        if record.response_status is not None:
            return Response(
                record.response_body,
                status=record.response_status,
                headers={"Idempotent-Replayed": "true"},
            )
        response = handler()  # an exception rolls the record back: the key stays unused
        record.response_status = response.status_code
        record.response_body = response.data
        record.save(update_fields=["response_status", "response_body"])
    return response
