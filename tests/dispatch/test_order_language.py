"""An order's language (Order.language; blank: the business's): set through the API, a
CSV column, Shopify's customer_locale, WooCommerce's multilingual meta and the order form;
the customer's messages and tracking page are written in it."""

from __future__ import annotations

import json
import re
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from django_tenants.utils import schema_context

from dispatch.models import Order
from dispatch.services import csv_io
from dispatch.services.orders import orders_create
from dispatch.services.parsing import date_reader
from dispatch.services.shopify import shopify_order_to_order_data
from stores.services.woocommerce import order_data
from tests.conftest import api_client, host_client, login_client, tenant_today
from tests.dispatch import shopify_payloads as sp
from tests.stores import fake_woocommerce as fw

pytestmark = pytest.mark.django_db


def _order(**changes) -> dict:
    return {
        "customer_name": "Aino Virtanen",
        "customer_phone": "+447700900123",
        "address_line1": "1 High St",
        "city": "London",
        "lat": 51.5,
        "lng": -0.1,
        "delivery_date": str(tenant_today(2)),
        **changes,
    }


def _post(client, body):
    return client.post("/api/v1/orders", json.dumps(body), content_type="application/json")


# --- intake ----------------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "kept"), [("fi", "fi"), ("fr-CA", "fr"), ("DE", "de"), ("", "")])
def test_the_api_takes_a_language_and_answers_with_it(alpha, sent, kept):
    response = _post(api_client(alpha.host, alpha.api_key), _order(language=sent))
    assert response.status_code == 201, response.json()
    assert response.json()["language"] == kept
    with schema_context(alpha.tenant.schema_name):
        assert Order.objects.get(pk=response.json()["id"]).language == kept


@pytest.mark.parametrize("sent", ["xx", "klingon", "pt-BR", 7, ["fi"]])
def test_an_unknown_language_is_a_field_error_not_a_500(alpha, sent):
    response = _post(api_client(alpha.host, alpha.api_key), _order(language=sent))
    assert response.status_code == 400
    assert "language" in response.json()["errors"], response.json()
    with schema_context(alpha.tenant.schema_name):
        assert not Order.objects.filter(customer_name="Aino Virtanen").exists()


def test_the_language_can_be_changed_and_is_in_the_schema(alpha):
    client = api_client(alpha.host, alpha.api_key)
    created = _post(client, _order()).json()
    response = client.patch(
        f"/api/v1/orders/{created['id']}",
        json.dumps({"language": "es"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["language"] == "es"
    schema = client.get("/api/schema/?format=json").json()
    described = schema["components"]["schemas"]["OrderInputRequest"]["properties"]["language"]
    assert "fi" in described["description"]


def test_another_tenants_key_cannot_change_an_orders_language(alpha, beta):
    created = _post(api_client(alpha.host, alpha.api_key), _order(language="fi")).json()
    response = api_client(alpha.host, beta.api_key).patch(
        f"/api/v1/orders/{created['id']}",
        json.dumps({"language": "de"}),
        content_type="application/json",
    )
    assert response.status_code == 401
    with schema_context(alpha.tenant.schema_name):
        assert Order.objects.get(pk=created["id"]).language == "fi"


def test_a_csv_language_column_is_read_like_the_others(alpha):
    day = tenant_today(2)
    text = (
        "Order ID,Customer,Address,City,Delivery Date,Language\n"
        f"L-1,Aino,1 High St,London,{day},fi-FI\n"
        f"L-2,Ben,2 High St,London,{day},\n"
        f"L-3,Cy,3 High St,London,{day},xx\n"
    )
    with schema_context(alpha.tenant.schema_name):
        csv_import = csv_io.csv_import_start(filename="orders.csv", content=text)
        assert csv_import.mapping.get("language") == "Language"
        preview = csv_io.csv_import_preview(csv_import=csv_import)
        assert [(e["line"], set(e["errors"])) for e in preview.errors] == [(4, {"language"})]
        csv_io.csv_import_commit(csv_import=csv_import)
        languages = dict(
            Order.objects.filter(external_id__startswith="L-").values_list(
                "external_id", "language"
            )
        )
    assert languages == {"L-1": "fi", "L-2": ""}


def test_shopifys_customer_locale_is_the_orders_language():
    assert (
        shopify_order_to_order_data(sp.order(customer_locale="fr-CA"), tenant_tz="UTC")["language"]
        == "fr"
    )
    # a language we do not ship: the business's (the order is not refused for it)
    assert "language" not in shopify_order_to_order_data(
        sp.order(customer_locale="ja"), tenant_tz="UTC"
    )


def test_a_woocommerce_orders_multilingual_meta_is_its_language():
    reader = date_reader(locale="en", country="GB")
    zone = ZoneInfo("Europe/London")
    data, _ = order_data(
        fw.order(meta=[("wpml_language", "de")]),
        url="https://shop.example",
        zone=zone,
        reader=reader,
    )
    assert data["language"] == "de"
    data, _ = order_data(
        fw.order(meta=[("pll_language", "pt")]),
        url="https://shop.example",
        zone=zone,
        reader=reader,
    )
    assert "language" not in data


def test_the_order_form_has_a_language_and_the_order_page_shows_it(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    form = client.get("/orders/new/").content.decode()
    assert 'name="language"' in form and '<option value="fi">Suomi</option>' in form
    created = _post(api_client(alpha.host, alpha.api_key), _order(language="fi")).json()
    page = client.get(f"/orders/{created['id']}/").content.decode()
    assert re.search(r'id="order-language">Suomi<', page)


# --- what the customer reads -------------------------------------------------------------


def _confirmation(alpha, language: str) -> str:
    """The body of the order's confirmation (by email, as the business sends it)."""
    from notifications.models import Notification
    from notifications.services import sending

    with schema_context(alpha.tenant.schema_name):
        order = _order(language=language, customer_email="aino@example.com")
        result = orders_create([order], source="api", actor="test")
        made = sending.notify_event(Order.objects.get(pk=result[0].id), "confirmed")
        (email,) = [n for n in made if n.channel == Notification.Channel.EMAIL]
        return email.body


def test_the_customers_message_is_in_the_orders_language(alpha, settings):
    settings.SMS_BACKEND = "memory"
    day = tenant_today(2)
    finnish = format_date(day, "cccc", locale="fi")  # "tiistai": CLDR's stand-alone name
    english = format_date(day, "cccc", locale="en")
    assert finnish in _confirmation(alpha, "fi")
    body = _confirmation(alpha, "")
    assert english in body and finnish not in body


def test_the_tracking_page_is_in_the_orders_language_not_the_visitors(alpha):
    from tracking.services.day import tracking_link_for

    with schema_context(alpha.tenant.schema_name):
        result = orders_create([_order(language="fi")], source="api", actor="test")
        token = tracking_link_for(Order.objects.get(pk=result[0].id))
    page = host_client("localhost").get(f"/t/{token}", HTTP_ACCEPT_LANGUAGE="de")
    assert page.status_code == 200
    body = page.content.decode()
    assert '<html lang="fi">' in body
    assert 'src="/jsi18n/fi/"' in body  # its script's words, in the order's language too


def test_dates_words_follow_the_active_language_and_times_the_businesss_format():
    import datetime as dt

    from django.utils import translation

    from tenants.services.formats import Formats

    formats = Formats(time_zone="Europe/London", locale="en-gb", country="GB")
    day = tenant_today(1)
    with translation.override("fi"):
        text = formats.date(day)
        assert format_date(day, "cccc", locale="fi") in text
        assert format_date(day, "MMMM", locale="fi") in text  # "joulukuuta", in full
        assert formats.time(dt.time(14, 5)) == "14:05"
    with translation.override("en"):
        assert formats.date(day) == format_date(day, "cccc d MMMM", locale="en_GB")


def test_what_the_live_page_is_sent_is_in_the_orders_language(alpha):
    """The socket's snapshot and updates (tracking.selectors.Promise.as_message) are
    written in the order's language, whatever language the worker runs in."""
    from tracking.selectors import customer_promise, customer_snapshot

    with schema_context(alpha.tenant.schema_name):
        result = orders_create([_order(language="fi")], source="api", actor="test")
        order = Order.objects.get(pk=result[0].id)
        promise = customer_promise(order)
        snapshot = customer_snapshot(order.pk)
    weekday = format_date(order.delivery_date, "cccc", locale="fi")
    assert promise.language == "fi"
    assert weekday in promise.as_message()["date_text"]
    assert weekday in snapshot["date_text"]


def test_the_email_is_wrapped_and_titled_in_the_orders_language(alpha, settings, monkeypatch):
    """The email's subject (the event's label) and its HTML wrapper are rendered in the
    order's language too, when the worker sends it (whatever language the worker runs in)."""
    from django.core import mail
    from django.utils import translation

    from notifications.models import Notification
    from notifications.services import sending

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    seen: list[str] = []
    real = sending.render_to_string

    def spy(*args, **kwargs):
        seen.append(translation.get_language())
        return real(*args, **kwargs)

    monkeypatch.setattr(sending, "render_to_string", spy)
    with schema_context(alpha.tenant.schema_name):
        order = _order(language="fi", customer_email="aino@example.com")
        result = orders_create([order], source="api", actor="test")
        made = sending.notify_event(Order.objects.get(pk=result[0].id), "confirmed")
        (email,) = [n for n in made if n.channel == Notification.Channel.EMAIL]
        with translation.override("en"):
            assert sending.deliver(email.pk) == "sent"
    assert seen == ["fi"]
    assert translation.get_language() == "en"  # put back after the send
    assert '<html lang="fi">' in mail.outbox[-1].alternatives[0][0]
