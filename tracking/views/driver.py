"""The driver's app: today's published route as one page that works offline (the
service worker keeps it, static/js/driver.js keeps what the driver does in an outbox and
sends it when the network returns), its manifest and service worker, and the actions the
app sends: stop events, parcel scans, the navigation app, duty."""

from __future__ import annotations

import functools
import hashlib
import json
from urllib.parse import urlsplit

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import JavaScriptCatalog

from accounts.decorators import role_required
from core.forms import flash_service_errors
from core.http import wants_json
from dispatch.models import Driver, Order, OrderStatus
from dispatch.selectors.codes import order_codes
from routing.models import PlanRoute
from tenants.selectors import current_tenant
from tenants.services.formats import Formats
from tracking.selectors import collection_of
from tracking.services import day as services
from tracking.services import driver_app
from tracking.services.day import is_on_duty
from tracking.services.paths import driver_path
from tracking.services.tokens import driver_token
from tracking.throttling import driver_throttled

driver_required = role_required("driver")


def _driver(request: HttpRequest) -> Driver | None:
    return Driver.objects.filter(user=request.user, is_active=True).first()


def _refused(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"errors": exc.message_dict}, status=400)
    flash_service_errors(request, exc)
    return redirect("driver:route")


@driver_required
@driver_throttled
@require_POST
def duty_view(request: HttpRequest) -> HttpResponse:
    driver = _driver(request)
    if driver is None:
        messages.error(request, _("Your account is not linked to a driver; ask your dispatcher."))
    else:
        on = request.POST.get("on_duty") == "1"
        services.duty_set(driver=driver, on_duty=on)
        messages.success(
            request,
            _("Shift started: your position is shared with dispatch.")
            if on
            else _("Shift ended: your position is no longer shared."),
        )
    return redirect("driver:route")


@driver_required
@driver_throttled
@require_POST
def stop_view(request: HttpRequest) -> HttpResponse:
    """A stop event. From the app's outbox it carries the phone's `key` and time `t`:
    recorded once, at the time the driver tapped, however often it is sent. Without a key
    (a plain form), the same rule applies at once."""
    driver = _driver(request)
    try:
        if driver is None:
            raise ValidationError({"driver": _("Your account is not linked to a driver.")})
        order_pk = driver_app.object_id(request.POST.get("order", ""), "order")
        if request.POST.get("key"):
            report = driver_app.stop_report(
                driver=driver,
                key=request.POST["key"],
                order_id=order_pk,
                event=request.POST.get("event"),
                reason=request.POST.get("reason", ""),
                t=request.POST.get("t"),
                sent=request.POST.get("sent"),
            )
            if report.errors:
                raise ValidationError(report.errors)
        else:
            services.stop_event(
                driver=driver,
                order_id=order_pk,
                event=request.POST.get("event"),
                reason=request.POST.get("reason", ""),
            )
    except ValidationError as exc:
        return _refused(request, exc)
    if wants_json(request):
        status = Order.objects.filter(pk=order_pk).values_list("status", flat=True).first()
        return JsonResponse({"ok": True, "status": status})
    return redirect("driver:route")


@driver_required
@driver_throttled
@require_POST
def scan_view(request: HttpRequest) -> JsonResponse:
    """A parcel code the app read (or the driver typed): which order it is."""
    driver = _driver(request)
    try:
        if driver is None:
            raise ValidationError({"driver": _("Your account is not linked to a driver.")})
        scan = driver_app.scan_record(
            driver=driver,
            key=request.POST.get("key"),
            code=request.POST.get("code"),
            stage=request.POST.get("stage"),
            expected=request.POST.get("expected") or None,
            t=request.POST.get("t"),
            sent=request.POST.get("sent"),
        )
    except ValidationError as exc:
        return JsonResponse({"errors": exc.message_dict}, status=400)
    return JsonResponse({"ok": True, "order": scan.order_id, "matched": scan.matched})


@driver_required
@driver_throttled
@require_POST
def settings_view(request: HttpRequest) -> HttpResponse:
    """The driver's choice of navigation app (kept on the phone too, for offline)."""
    driver = _driver(request)
    try:
        if driver is None:
            raise ValidationError({"driver": _("Your account is not linked to a driver.")})
        row = driver_app.navigation_set(driver=driver, app=request.POST.get("navigation_app"))
    except ValidationError as exc:
        return _refused(request, exc)
    if wants_json(request):
        return JsonResponse({"ok": True, "navigation_app": row.navigation_app})
    messages.success(
        request, _("Stops open in %(app)s.") % {"app": row.get_navigation_app_display()}
    )
    return redirect("driver:route")


@driver_required
@driver_throttled
@never_cache
def token_view(request: HttpRequest) -> JsonResponse:
    """The app's credentials, asked for when it starts and after being offline (the page
    the service worker keeps holds none): the driver token (only on duty), the form token,
    and whose they are (another driver signed in on this phone: the app starts afresh)."""
    driver = _driver(request)
    if driver is None:
        return JsonResponse({"errors": {"driver": _("Not linked to a driver.")}}, status=403)
    token = None
    if is_on_duty(driver.pk):
        token = driver_token(
            schema=connection.schema_name, driver_id=driver.pk, user_id=request.user.pk
        )
    return JsonResponse(
        {
            "token": token,
            "csrf": get_token(request),
            "on_duty": token is not None,
            "driver": driver.pk,
        }
    )


def current_route(driver: Driver | None) -> PlanRoute | None:
    """The driver's published route for today, else the next day they have one."""
    if driver is None:
        return None
    routes = PlanRoute.objects.filter(
        driver=driver, version__gt=0, plan__date__gte=timezone.localdate()
    ).select_related("plan", "vehicle")
    return routes.order_by("plan__date", "-plan__published_at").first()


def _stop_data(stops, formats: Formats, added: set[int], loaded: set[int]) -> list[dict]:
    """What the app needs of each stop to draw it, finish it and check its parcel offline."""
    out = []
    for stop in stops:
        if stop.is_break:
            continue
        order = stop.order
        pair: dict = {}
        if order.kind == Order.Kind.PICKUP:
            delivery = getattr(getattr(order, "pair_as_pickup", None), "delivery", None)
            pair["delivers"] = delivery.customer_name if delivery else ""
        elif (collection := collection_of(order)) is not None:
            at = collection.collected_at
            pair["collect"] = {
                "name": collection.name,
                "place": collection.place,
                "collected": collection.collected,
                "at": formats.clock(at) if at else "",
            }
        out.append(
            {
                "order": order.pk,
                "kind": order.kind,
                **pair,
                "seq": stop.sequence,
                "name": order.customer_name,
                "at": formats.clock(stop.starts_at) if stop.starts_at else "",
                "address": ", ".join(p for p in (order.address_line1, order.postcode) if p),
                "lat": order.lat,
                "lng": order.lng,
                "status": order.status,
                "codes": order_codes(order),
                "new": order.pk in added,
                "loaded": order.pk in loaded,
            }
        )
    return out


@driver_required
def driver_route_view(request: HttpRequest) -> HttpResponse:
    driver = _driver(request)
    route = current_route(driver)
    on_duty = driver is not None and is_on_duty(driver.pk)
    context: dict = {"route": route, "driver": driver, "on_duty": on_duty}
    formats = Formats.of(current_tenant())
    app = {
        "clock": {"locale": formats.language_tag, "zone": str(formats.zone)},
        "urls": {
            "stop": reverse("driver:stop"),
            "scan": reverse("driver:scan"),
            "token": reverse("driver:token"),
            "settings": reverse("driver:settings"),
            "pings": "/api/v1/driver/pings",
            "path": reverse("driver:path"),
            "route": reverse("driver:route"),
            "version": reverse("driver:version"),
            "sw": reverse("driver:service-worker"),
            "zxing": static("vendor/zxing/index.min.js"),
        },
        "statuses": dict(OrderStatus.choices),
        "on_duty": on_duty,
        "driver": driver.pk if driver else None,
        "schema": connection.schema_name,
        "navigation": driver_app.navigation_of(driver) if driver else "google",
        "navigation_urls": driver_app.NAVIGATION_URLS,
        "route": None,
        "stops": [],
    }
    context["navigation_choices"] = driver_app.DriverSettings.Navigation.choices
    if route is not None:
        version = route.versions.order_by("-number").first()
        changes = version.changes if version else {}
        names = dict(
            Order.objects.filter(pk__in=[pk for ids in changes.values() for pk in ids]).values_list(
                "pk", "customer_name"
            )
        )
        stops = list(
            route.stops.select_related(
                "order", "order__pair_as_delivery__pickup", "order__pair_as_pickup__delivery"
            ).order_by("sequence")
        )
        added = set(changes.get("added", [])) | set(changes.get("moved", []))
        ids = [s.order_id for s in stops if not s.is_break]
        data = _stop_data(stops, formats, added, driver_app.loaded_orders(driver, ids))
        app["route"] = {"id": route.pk, "version": route.version, "date": str(route.plan.date)}
        app["stops"] = data
        labels = {item["order"]: item["codes"][0] for item in data}
        pairs = {item["order"]: item for item in data}
        sequences = {s.order_id: s.sequence for s in stops if s.order_id}
        for stop in stops:
            stop.label = labels.get(stop.order_id, "")
            # a pickup-and-delivery pair: what the template says of the other end
            stop.delivers = pairs.get(stop.order_id, {}).get("delivers")
            stop.collect = pairs.get(stop.order_id, {}).get("collect")
            if stop.collect is not None:
                pickup = stop.order.pair_as_delivery.pickup_id
                stop.collect["sequence"] = sequences.get(pickup)
        context.update(
            version=version,
            changes={
                kind: [(pk, names.get(pk, "")) for pk in ids] for kind, ids in changes.items()
            },
            added=added,
            stops=stops,
            path=driver_path(driver.pk, route=route),
            map_settings={"RESET_VIEW": False},
        )
    context["app"] = app
    return render(request, "tracking/driver_route.html", context)


@driver_required
def driver_path_view(request: HttpRequest) -> JsonResponse:
    """The map's path, asked again as the driver moves: from the van's last position to
    the next stop, then the stops still to do."""
    driver = _driver(request)
    route = current_route(driver)
    if driver is None or route is None:
        return JsonResponse({"route": None})
    return JsonResponse(driver_path(driver.pk, route=route))


@driver_required
def driver_version_view(request: HttpRequest) -> HttpResponse:
    """Polled by the page: which version of the route is current (the app merges a new
    one in once what it kept offline is sent)."""
    route = current_route(_driver(request))
    now = f"{route.pk}:{route.version}" if route else "none"
    if wants_json(request):
        return JsonResponse({"version": now})
    response = HttpResponse(status=204)
    if request.GET.get("seen") != now:
        response["HX-Refresh"] = "true"
    return response


# --- installable: the manifest and the service worker -----------------------------------

ICON_SIZES = (192, 512)


@require_GET
def manifest_view(request: HttpRequest) -> HttpResponse:
    """The web app manifest: "Add to home screen" opens the driver's route, full screen.
    Public (browsers fetch it without cookies); it names only the business."""
    tenant = current_tenant()
    icons = [
        {
            "src": static(f"driver/icon-{size}.png"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": "any",
        }
        for size in ICON_SIZES
    ]
    icons.append(
        {
            "src": static("driver/icon-maskable-512.png"),
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        }
    )
    body = {
        "id": reverse("driver:route"),
        "name": _("%(business)s · Driver") % {"business": tenant.name},
        "short_name": _("Driver"),
        "description": _("Today's route, stops and proof of delivery, online or not."),
        "lang": translation.get_language(),
        "start_url": reverse("driver:route") + "?source=home-screen",
        "scope": reverse("driver:route"),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#0b3d91",
        "icons": icons,
    }
    response = HttpResponse(json.dumps(body), content_type="application/manifest+json")
    response["Cache-Control"] = "public, max-age=3600"
    return response


#: The app's own files, kept by the service worker when it installs.
SHELL_STATIC = (
    "css/app.css",
    "css/driver.css",
    "js/page.js",
    "js/driver.js",
    "js/driver_masked.js",
    "js/driver_map.js",
    "js/driver_scan.js",
    "js/roadmap.js",
    "js/proof.js",
    "vendor/idb/umd.js",
    "vendor/zxing/index.min.js",
    "driver/icon-192.png",
)


def _shell_digest() -> str:
    """What the app's files hold: a changed file makes a new worker even where its name
    does not change (DEBUG serves files by their plain names). Read once per process
    unless DEBUG (a deploy is a new process)."""
    if settings.DEBUG:
        return _files_digest()
    return _files_digest_kept()


def _files_digest() -> str:
    digest = hashlib.sha256()
    for name in SHELL_STATIC:
        path = finders.find(name)
        if path:
            with open(path, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


_files_digest_kept = functools.cache(_files_digest)

#: The JavaScript catalog's digest by language, once per process (a deploy is a new one).
_CATALOG_DIGESTS: dict[str, str] = {}


def _catalog_digest(request: HttpRequest, language: str) -> str:
    """What the JavaScript catalog of `language` holds: new translations make a new worker
    (which keeps the new catalog) even where no file of the app changed."""
    kept = None if settings.DEBUG else _CATALOG_DIGESTS.get(language)
    if kept is None:
        with translation.override(language):
            body = JavaScriptCatalog.as_view()(request).content
        kept = _CATALOG_DIGESTS[language] = hashlib.sha256(body).hexdigest()
    return kept


@require_GET
@csp_update({"connect-src": [settings.MAP_TILES_ORIGIN]})  # it fetches the tiles it keeps
def service_worker_view(request: HttpRequest) -> HttpResponse:
    """The service worker, served from /driver/ so that its scope is the app. Its text
    changes (and phones update it) whenever the files it keeps change name, and with the
    driver's language: it keeps that language's JavaScript catalog with the app's files,
    so the app speaks it offline too."""
    language = translation.get_language()  # the signed-in driver's (core.i18n)
    catalog = reverse("javascript-catalog")  # the address of that language's catalog
    # once each: the worker's cache.addAll refuses a list naming a file twice (no install)
    shell = list(dict.fromkeys([static(name) for name in SHELL_STATIC] + [catalog]))
    tiles = settings.LEAFLET_CONFIG["TILES"]
    tile_host = urlsplit(tiles.replace("{s}.", "")).hostname or ""
    version = hashlib.sha256(
        json.dumps(
            [shell, tile_host, _shell_digest(), language, _catalog_digest(request, language)]
        ).encode()
    )
    body = render(
        request,
        "tracking/driver_sw.js",
        {
            "config": json.dumps(
                {
                    "version": version.hexdigest()[:12],
                    "schema": connection.schema_name,
                    "language": language,
                    "catalog": catalog,
                    "shell": shell,
                    "app": reverse("driver:route"),
                    "tiles": tile_host,
                    "static": settings.STATIC_URL,
                    # the page shown when the route was never loaded and there is no network
                    "offline": {
                        "title": _("Offline"),
                        "heading": _("No network"),
                        "text": _(
                            "Your route opens here once it has been loaded with a network. "
                            "Try again when you have signal."
                        ),
                    },
                }
            )
        },
        content_type="text/javascript",
    )
    body["Cache-Control"] = "no-cache"
    body["Service-Worker-Allowed"] = reverse("driver:route")
    return body
