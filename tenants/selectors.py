"""Read-only queries of the public tables, and where a tenant's travel times come from."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import User
from geo.engine import RoadEngine, RoadsError
from geo.selectors import Region, region_engine, region_of
from tenants.models import ApiKey, Tenant

#: The demo business `manage.py seed_demo` makes: its host, and its owner's login, whose
#: password is published and whose API key was printed.
DEMO_SLUG = "demo"
DEMO_OWNER_EMAIL = "owner@demo.test"


def demo_tenant_present() -> bool:
    """Whether the demo business (seed_demo's, with its owner's login) is here."""
    tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
    if tenant is None:
        return False
    with schema_context(tenant.schema_name):
        return User.objects.filter(email=DEMO_OWNER_EMAIL).exists()


def api_keys_of(*, tenant: Tenant) -> QuerySet[ApiKey]:
    """A tenant's keys, newest first; never another tenant's."""
    return ApiKey.objects.filter(tenant=tenant).order_by("-created_at")


def current_tenant() -> Tenant:
    """The Tenant whose schema the connection is in, wherever the code runs.

    In a request django-tenants puts the Tenant on the connection; `schema_context` (tasks,
    commands) puts a stand-in without the tenant's fields (country, time zone), so those
    are read from the table.
    """
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Tenant):
        return tenant
    return Tenant.objects.get(schema_name=connection.schema_name)


# --- travel times: roads, an OSRM server, or straight lines said plainly ---------------

ROADS, OSRM, STRAIGHT = "roads", "osrm", "straight"
ATTRIBUTION = "© OpenStreetMap contributors"
TRAVEL_KINDS = [(ROADS, "Roads"), (OSRM, "OSRM server"), (STRAIGHT, "Straight lines")]


@dataclass(frozen=True)
class TravelSource:
    kind: str  # ROADS, OSRM or STRAIGHT
    label: str  # what pages say, e.g. "Roads: helsinki (car)"
    reason: str = ""  # for straight lines: why, in the dispatcher's words
    region: Region | None = None
    engine: RoadEngine | None = field(default=None, compare=False, repr=False)

    @property
    def is_roads(self) -> bool:
        return self.kind in (ROADS, OSRM)

    @property
    def attribution(self) -> str:
        return ATTRIBUTION if self.kind == ROADS else ""

    def as_dict(self) -> dict:
        """For APIs and pages' scripts."""
        return {
            "kind": self.kind,
            "label": self.label,
            "reason": self.reason,
            "region": self.region.name if self.region else "",
            "profile": self.region.profile if self.region else "",
            "attribution": self.attribution,
        }


def travel_source(tenant=None) -> TravelSource:
    """The current tenant's (or `tenant`'s) source of travel times."""
    provider = settings.ROUTING_MATRIX_PROVIDER
    if provider == OSRM:
        return TravelSource(OSRM, f"Roads: OSRM server ({settings.ROUTING_OSRM_PROFILE})")
    detour = f"straight lines \u00d7 {settings.ROUTING_DETOUR_FACTOR:g}"
    if provider == STRAIGHT:
        return _straight(detour, "the platform is set to straight lines")
    if tenant is None:
        in_tenant = connection.schema_name != get_public_schema_name()
        tenant = current_tenant() if in_tenant else None
    name = getattr(tenant, "road_region", "")
    profile = getattr(tenant, "road_profile", "car")
    if not name:
        return _straight(detour, "no road region is chosen in Settings → Roads")
    try:
        region = region_of(name, profile)
        engine = region_engine(name, profile) if region else None
    except RoadsError as exc:
        return _straight(detour, f"road region {name} ({profile}) cannot be read: {exc}")
    if region is None or engine is None:
        return _straight(detour, f"road region {name} ({profile}) is not built on this server")
    return TravelSource(ROADS, f"Roads: {region.label}", region=region, engine=engine)


def _straight(detour: str, reason: str) -> TravelSource:
    return TravelSource(STRAIGHT, f"Estimated: {detour}", reason=reason)


def api_key_actor_names(prefixes: set[str]) -> dict[str, str]:
    """This tenant's API keys named in histories ("api_key:<prefix>"): "API key 'Shop'",
    in one query (audit.selectors); another tenant's key is never named."""
    keys = ApiKey.objects.filter(tenant=current_tenant(), prefix__in=prefixes)
    return {prefix: f"API key '{name}'" for prefix, name in keys.values_list("prefix", "name")}
