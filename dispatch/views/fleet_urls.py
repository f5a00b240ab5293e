"""Dashboard routes for depots, vehicles and drivers (in the "dashboard" namespace)."""

from django.urls import path

from dispatch.views import fleet

urlpatterns = []
for kind, plural in (("depot", "depots"), ("vehicle", "vehicles"), ("driver", "drivers")):
    urlpatterns += [
        path(f"{plural}/", fleet.fleet_list_view, {"kind": kind}, name=f"{kind}-list"),
        path(f"{plural}/new/", fleet.fleet_form_view, {"kind": kind}, name=f"{kind}-create"),
        path(f"{plural}/<int:pk>/", fleet.fleet_form_view, {"kind": kind}, name=f"{kind}-edit"),
        path(
            f"{plural}/<int:pk>/active/",
            fleet.fleet_active_view,
            {"kind": kind},
            name=f"{kind}-active",
        ),
    ]
