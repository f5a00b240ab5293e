"""The codes that identify an order's parcel when a driver scans it: the label code we
print (routing.services.labels draws it as a QR code and a Code 128) and the store's own
codes imported with the order (`Order.barcodes`)."""

from __future__ import annotations

from django.db import connection

from dispatch.models import Order


def label_code(order: Order) -> str:
    """Our label's code for the order: the tenant's schema and the order's id, "DEMO-123".

    Order ids repeat across tenants; the schema name makes a label read in the wrong
    tenant's app a miss, never another business's parcel. It is the schema the connection
    is in (the request's tenant, or the `schema_context` of a task)."""
    return f"{connection.schema_name.upper()}-{order.pk}"


def labelled_order_id(code: str) -> int | None:
    """The order id a label of this tenant names (what `label_code` prints, in any
    case), or None: another tenant's label, or not one of ours."""
    prefix = f"{connection.schema_name.upper()}-"
    rest = code[len(prefix) :] if code.upper().startswith(prefix) else ""
    if not (rest.isascii() and rest.isdecimal() and len(rest) < 19):
        return None
    return int(rest)


def order_codes(order: Order) -> list[str]:
    """Every code that identifies the order's parcel: the label code first, then the
    store's codes, each once, in that order."""
    return list(dict.fromkeys([label_code(order), *order.barcodes]))
