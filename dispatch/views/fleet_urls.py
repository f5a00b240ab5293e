"""Dashboard routes for depots, vehicles and drivers (in the "dashboard" namespace):
`<kind>-list`, `<kind>-create`, `<kind>-edit`, `<kind>-deactivate`, `<kind>-reactivate`."""

from django.urls import path

from dispatch.views import fleet

urlpatterns = []
for kind, plural in (("depot", "depots"), ("vehicle", "vehicles"), ("driver", "drivers")):
    urlpatterns += [
        path(f"{plural}/", fleet.fleet_list_view, {"kind": kind}, name=f"{kind}-list"),
        path(f"{plural}/new/", fleet.fleet_form_view, {"kind": kind}, name=f"{kind}-create"),
        path(f"{plural}/<int:pk>/", fleet.fleet_form_view, {"kind": kind}, name=f"{kind}-edit"),
        path(
            f"{plural}/<int:pk>/deactivate/",
            fleet.fleet_active_view,
            {"kind": kind, "is_active": False},
            name=f"{kind}-deactivate",
        ),
        path(
            f"{plural}/<int:pk>/reactivate/",
            fleet.fleet_active_view,
            {"kind": kind, "is_active": True},
            name=f"{kind}-reactivate",
        ),
    ]
