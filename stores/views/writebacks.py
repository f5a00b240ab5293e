"""What was written back to the stores: the failed write-backs on the Stores page, and
trying one again (filled in by the Shopify write-back work)."""

from __future__ import annotations

from django.http import HttpRequest

urlpatterns: list = []


def section(request: HttpRequest) -> dict:
    return {}
