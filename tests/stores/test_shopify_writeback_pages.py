"""Write-backs shown to people: the order page's "Store updates" panel and the Stores
page's failed updates, a permanent error standing out, "Try again" after the owner fixed
the cause; another tenant's staff cannot touch them."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from dispatch.models import ShopifyIntegration
from stores.models import WriteBack
from stores.services import writeback
from tests.conftest import login_client
from tests.stores import test_shopify_writeback as flow
from tests.stores.test_shopify_writeback import (
    SHOP,
    TOKEN,
    fulfilments,
    pending_pks,
    published_route,
    shopify_order,
)
from tracking.services.day import stop_event

pytestmark = pytest.mark.django_db

# the fake Shopify and alpha's app-installed shop, as the flow's tests have them
fake, shop = flow.fake, flow.shop


def failed_set_off(fake) -> tuple[int, int]:
    """An order set off while the shop had revoked our token: (order id, write-back id)."""
    with schema_context("alpha"):
        jon = shopify_order(fake, 9201)
        route = published_route()
        stop_event(driver=route.driver, order_id=jon.pk, event="en_route")
        (pk,) = pending_pks()
        fake.shop(SHOP).revoked = True
        assert writeback.run(pk) == "failed"
        return jon.pk, pk


def test_a_permanent_error_shows_on_the_order_and_the_stores_page_and_is_tried_again(
    alpha, shop, fake
):
    order_id, pk = failed_set_off(fake)
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    page = dispatcher.get(f"/orders/{order_id}/").content.decode()
    assert 'id="order-store-updates"' in page
    assert f'id="store-update-{pk}"' in page and 'data-status="failed"' in page
    assert "Out for delivery" in page and SHOP in page
    assert 'class="message error" role="alert"' in page
    assert "refused the store&#x27;s token" in page
    assert f'action="/settings/stores/writebacks/{pk}/retry/"' in page
    assert TOKEN not in page

    owner = login_client(alpha.host, alpha.owner_email)
    stores = owner.get("/settings/stores/").content.decode()
    assert 'id="writebacks"' in stores and f'id="writeback-{pk}"' in stores
    assert f'href="/orders/{order_id}/"' in stores
    assert "refused the store&#x27;s token" in stores
    assert "<strong>0</strong> done" in stores and "<strong>1</strong> failed" in stores
    with schema_context("alpha"):
        assert "refused the store's token" in ShopifyIntegration.objects.get().last_error

    # the owner installs the app again: a new token
    new_token = "shpat_" + "9" * 32
    fake.shop(SHOP).token, fake.shop(SHOP).revoked = new_token, False
    with schema_context("alpha"):
        ShopifyIntegration.objects.filter(shop_domain=SHOP).update(access_token=new_token)
    answer = dispatcher.post(
        f"/settings/stores/writebacks/{pk}/retry/",
        {"next": f"/orders/{order_id}/#order-store-updates"},
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/orders/{order_id}/#order-store-updates"
    with schema_context("alpha"):
        wb = WriteBack.objects.get(pk=pk)
        assert (wb.status, wb.attempts) == ("pending", 0)
        assert writeback.run(pk) == "done"
    assert len(fulfilments(fake, 9201)) == 1
    assert fake.events_of(SHOP, 9201) == ["OUT_FOR_DELIVERY"]
    page = dispatcher.get(f"/orders/{order_id}/").content.decode()
    assert 'data-status="done"' in page and 'class="message error"' not in page
    stores = owner.get("/settings/stores/").content.decode()
    assert "<strong>1</strong> done" in stores and "No update failed" in stores


def test_retrying_goes_back_where_it_was_asked_and_only_to_this_host(alpha, shop, fake):
    order_id, pk = failed_set_off(fake)
    owner = login_client(alpha.host, alpha.owner_email)
    answer = owner.post(
        f"/settings/stores/writebacks/{pk}/retry/", {"next": "https://evil.example/x"}
    )
    assert answer["Location"] == f"/orders/{order_id}/"
    # a second retry of one that is pending again changes nothing
    answer = owner.post(f"/settings/stores/writebacks/{pk}/retry/", {"next": "/settings/stores/"})
    assert answer["Location"] == "/settings/stores/"
    with schema_context("alpha"):
        assert WriteBack.objects.get(pk=pk).status == "pending"
    assert owner.get(f"/settings/stores/writebacks/{pk}/retry/").status_code == 405


def test_a_driver_cannot_retry_and_other_tenants_staff_get_404(alpha, beta, shop, fake):
    _, pk = failed_set_off(fake)
    driver = login_client(alpha.host, alpha.driver_email)
    assert driver.post(f"/settings/stores/writebacks/{pk}/retry/").status_code == 403
    for email in (beta.owner_email, beta.dispatcher_email):
        other = login_client(beta.host, email)
        assert other.post(f"/settings/stores/writebacks/{pk}/retry/").status_code == 404
    with schema_context("alpha"):
        assert WriteBack.objects.get(pk=pk).status == "failed"


def test_an_order_without_write_backs_has_no_store_panel(alpha, shop, fake):
    with schema_context("alpha"):
        jon = shopify_order(fake, 9211)
    page = login_client(alpha.host, alpha.dispatcher_email).get(f"/orders/{jon.pk}/")
    assert page.status_code == 200 and b"order-store-updates" not in page.content
