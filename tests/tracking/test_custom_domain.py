"""A business's own host for its tracking page (track.<its domain>): validated and unique,
used by its tracking links; the page, its rating, its logo and its websocket work there for
its own links only; nothing of the dashboard is served there; the platform's link keeps
working."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, get_resolver
from django_tenants.utils import schema_context
from PIL import Image

from dispatch.models import Order
from notifications.services import sending
from tenants.models import Domain
from tenants.services.tracking_host import tracking_host_of, tracking_host_set
from tests.conftest import host_client, login_client, tenant_today
from tests.tracking.test_rating import delivered
from tracking.consumers import TrackConsumer
from tracking.models import DeliveryRating
from tracking.services.brand import brand_update, logo_hash
from tracking.services.day import tracking_link_for

pytestmark = pytest.mark.django_db

HOST = "track.alpha-shop.example"


@pytest.fixture
def custom_hosts(settings):
    """The deployment lets businesses bring their own hosts (TRACKING_CUSTOM_HOSTS)."""
    settings.TRACKING_CUSTOM_HOSTS = True
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "*"]


@pytest.fixture
def alpha_host(alpha, custom_hosts) -> str:
    tracking_host_set(tenant=alpha.tenant, host=HOST)
    return HOST


def _png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGBA", (200, 80), (10, 90, 40, 255)).save(out, "PNG")
    return SimpleUploadedFile("logo.png", out.getvalue(), content_type="image/png")


# --- the host, validated ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "https://track.shop.example/",
        "track.shop.example/t/abc",
        "localhost",
        "shop",
        "192.168.1.20",
        "-track.shop.example",
        "track..shop.example",
        "track_shop.example",
        "tr ack.shop.example",
        "a" * 64 + ".example",
        "track.alpha.localhost",  # the platform's own domain (TENANT_BASE_DOMAIN)
    ],
)
def test_a_bad_host_name_is_refused_with_a_field_error(alpha, custom_hosts, bad):
    with pytest.raises(ValidationError) as refused:
        tracking_host_set(tenant=alpha.tenant, host=bad)
    assert refused.value.message_dict["tracking_host"]
    assert not Domain.objects.filter(is_tracking_host=True).exists()


def test_the_brand_page_shows_a_bad_host_as_a_field_error(alpha, custom_hosts):
    owner = login_client(alpha.host, alpha.owner_email)
    answer = owner.post("/settings/brand/", {"form": "host", "tracking_host": "https://x/y"})
    assert answer.status_code == 400
    assert "Enter a host name such as track.your-shop.com" in answer.content.decode()
    saved = owner.post(
        "/settings/brand/", {"form": "host", "tracking_host": " Track.Alpha-Shop.Example. "}
    )
    assert saved.status_code == 302
    assert tracking_host_of(alpha.tenant) == HOST
    page = owner.get("/settings/brand/").content.decode()
    assert f"{HOST}.  CNAME  localhost.</pre>" in page  # PUBLIC_BASE_URL's host, no port


def test_a_host_already_used_is_refused(alpha, beta, alpha_host):
    for taken in (HOST, beta.host, alpha.host):
        with pytest.raises(ValidationError) as refused:
            tracking_host_set(tenant=beta.tenant, host=taken)
        assert refused.value.message_dict["tracking_host"]
    assert tracking_host_of(beta.tenant) == ""
    assert tracking_host_set(tenant=alpha.tenant, host=HOST).domain == HOST  # again: harmless
    assert Domain.objects.filter(domain=HOST).count() == 1


def test_without_the_deployment_switch_the_page_offers_no_host(alpha, settings):
    settings.TRACKING_CUSTOM_HOSTS = False
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/settings/brand/").content.decode()
    assert 'name="tracking_host"' not in page and "not available on this platform" in page
    owner.post("/settings/brand/", {"form": "host", "tracking_host": HOST})
    assert tracking_host_of(alpha.tenant) == ""


# --- links, pages and sockets there -----------------------------------------------------------


def test_tracking_links_use_the_own_host_and_the_old_link_keeps_working(alpha, alpha_host):
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.create(
            customer_name="Own host", customer_phone="+447700900123", delivery_date=tenant_today()
        )
        token = tracking_link_for(order)
        assert sending.tracking_url(order) == f"https://{HOST}/t/{token}"
    page = login_client(alpha.host, alpha.dispatcher_email).get(f"/orders/{order.pk}/")
    assert f"https://{HOST}/t/{token}" in page.content.decode()
    assert host_client("localhost").get(f"/t/{token}").status_code == 200
    tracking_host_set(tenant=alpha.tenant, host="")  # back to the platform's links
    with schema_context(alpha.tenant.schema_name):
        assert sending.tracking_url(order).startswith("http://localhost")


def test_the_page_rating_and_logo_work_on_the_own_host(alpha, alpha_host, media):
    with schema_context(alpha.tenant.schema_name):
        row = brand_update(
            schema=alpha.tenant.schema_name,
            brand_colour="#1d5e20",
            accent_colour="#0b63ce",
            logo=_png(),
        )
        token = tracking_link_for(delivered())
    there = host_client(HOST)
    page = there.get(f"/t/{token}")
    assert page.status_code == 200
    text = page.content.decode()
    digest = logo_hash(row.logo)
    assert f'src="/t/{token}/logo/{digest}.png"' in text and "#1d5e20" in text
    assert there.get(f"/t/{token}/logo/{digest}.png").status_code == 200
    rated = there.post(f"/t/{token}/rating", {"stars": "5"}, HTTP_ACCEPT="application/json")
    assert rated.status_code == 201
    assert there.get(f"/t/{token}/path").status_code == 200


def test_another_tenants_link_is_not_found_on_the_own_host(alpha, beta, alpha_host, media):
    with schema_context(beta.tenant.schema_name):
        row = brand_update(
            schema=beta.tenant.schema_name,
            brand_colour="#0b63ce",
            accent_colour="#0b63ce",
            logo=_png(),
        )
        beta_token = tracking_link_for(delivered("Beta's customer"))
    digest = logo_hash(row.logo)
    there = host_client(HOST)
    page = there.get(f"/t/{beta_token}")
    assert page.status_code == 404 and "Beta's customer" not in page.content.decode()
    assert there.get(f"/t/{beta_token}/path").status_code == 404
    assert there.post(f"/t/{beta_token}/rating", {"stars": "5"}).status_code == 404
    assert there.get(f"/t/{beta_token}/logo/{digest}.png").status_code == 404
    assert there.get(f"/t/{beta_token}/proof/1/photo").status_code == 404
    # the same link on the platform's host is fine
    assert host_client("localhost").get(f"/t/{beta_token}").status_code == 200
    with schema_context(beta.tenant.schema_name):
        assert not DeliveryRating.objects.exists()


def test_the_websocket_on_the_own_host_takes_its_own_links_only(alpha, beta, alpha_host):
    with schema_context(alpha.tenant.schema_name):
        own = tracking_link_for(delivered("Alpha's"))
    with schema_context(beta.tenant.schema_name):
        other = tracking_link_for(delivered("Beta's"))
    consumer = TrackConsumer()
    assert consumer._authorise(own, HOST) is not None
    assert consumer._authorise(other, HOST) is None
    assert consumer._authorise(other, "localhost") is not None  # the platform's host


def test_the_own_host_serves_nothing_of_the_dashboard(alpha, alpha_host):
    there = host_client(HOST)
    for path in ("/", "/login/", "/orders/", "/settings/brand/", "/api/v1/orders", "/driver/"):
        assert there.get(path).status_code == 404, path
    owner = login_client(alpha.host, alpha.owner_email)
    assert owner.get("/settings/brand/").status_code == 200  # the tenant's host as before


def test_every_route_on_the_own_host_checks_whose_link_it_is():
    """config/urls_tracking.py: each page takes a link's token and is wrapped so that another
    business's link is not found there (the JavaScript catalog aside: translations only)."""
    routes = [
        p for p in get_resolver("config.urls_tracking").url_patterns if isinstance(p, URLPattern)
    ]
    for route in routes:
        if route.name and route.name.startswith("javascript-catalog"):
            continue
        assert str(route.pattern).startswith("t/<str:token>"), route.pattern
        assert getattr(route.callback, "for_this_host", False), route.name


def _opens(headers: dict[bytes, bytes]) -> bool:
    """Whether config/ws_origins.py lets a websocket with these headers through."""
    from asgiref.sync import async_to_sync

    from config.ws_origins import origin_checked

    opened: list[bool] = []

    async def app(scope, receive, send):
        opened.append(True)

    messages = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]

    async def receive():
        return messages.pop(0) if messages else {"type": "websocket.disconnect", "code": 1000}

    async def send(message):
        pass

    scope = {"type": "websocket", "path": "/ws/dispatch/", "headers": list(headers.items())}
    async_to_sync(origin_checked(app))(scope, receive, send)
    return bool(opened)


def test_sockets_open_from_their_own_host_or_the_platforms_never_from_another_site(
    custom_hosts,
):
    """With custom hosts on, ALLOWED_HOSTS holds "*"; the sockets' origin check must not."""
    own = {b"host": HOST.encode(), b"origin": f"https://{HOST}".encode()}
    assert _opens(own)
    platform = {b"host": b"alpha.localhost:8000", b"origin": b"http://alpha.localhost:8000"}
    assert _opens(platform)
    assert not _opens({b"host": b"alpha.localhost:8000", b"origin": b"https://evil.example"})
    assert not _opens({b"host": HOST.encode(), b"origin": b"https://evil.example"})
    assert not _opens({b"host": b"alpha.localhost:8000"})  # no origin: not a page of ours


def test_with_the_switch_off_links_stay_on_the_platform(alpha, alpha_host, settings):
    """A host set while the deployment served them is not linked to once it stops."""
    settings.TRACKING_CUSTOM_HOSTS = False
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.create(customer_name="Switch off", delivery_date=tenant_today())
        assert sending.tracking_url(order).startswith("http://localhost")
