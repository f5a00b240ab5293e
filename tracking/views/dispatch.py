"""The dispatcher's live map."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import dispatcher_required
from routing.services.geometry import source_dict
from tenants.selectors import current_tenant, travel_source
from tenants.services.formats import Formats


@dispatcher_required
def live_map_view(request: HttpRequest) -> HttpResponse:
    tenant = current_tenant()
    paths = source_dict(travel_source(tenant))
    return render(
        request,
        "tracking/live_map.html",
        {
            "map_settings": {"RESET_VIEW": False},
            "time_zone": tenant.time_zone,
            "language_tag": Formats.of(tenant).language_tag,
            "paths_legend": paths["legend"],
            "paths_kind": paths["kind"],
        },
    )
