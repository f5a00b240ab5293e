"""The WooCommerce section of the Stores page (connect, status, errors) and its actions."""

from __future__ import annotations

from django.http import HttpRequest

urlpatterns: list = []


def section(request: HttpRequest) -> dict:
    return {}
