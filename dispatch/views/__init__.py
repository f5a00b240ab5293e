"""The dispatcher's dashboard pages."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import dispatcher_required
from dispatch.selectors import setup_checklist


@dispatcher_required
def home_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dispatch/home.html",
        {"tenant": connection.tenant, "checklist": setup_checklist(tenant=connection.tenant)},
    )
