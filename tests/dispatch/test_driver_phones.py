"""Drivers' phone numbers (issue 17): valid UK mobiles in the ways people write them are
taken (E.164 stored), nonsense is refused with a field error, and the form says what
format it expects."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from dispatch.models import Driver
from dispatch.services import fleet
from dispatch.services.phones import phone_e164
from tests.conftest import api_client, login_client

# Ofcom's numbers for drama (07700 900000-900999): valid UK mobiles in their form, which
# libphonenumber's metadata leaves out, and which were refused.
UK_MOBILES = [
    "07700 900123",
    "+44 7700 900123",
    "447700900123",
    "(07700) 900 123",
    "0044 7700 900123",
    "+44 (0)7700 900123",
    "07700-900-123",
    " 07700900123 ",
]
NOT_PHONE_NUMBERS = [
    "07700 900",  # too short
    "07700 9001234",  # too long
    "12345",
    "nope",
    "06000 000000",  # no UK number starts with 06
    "+999 123 456 789",  # no such country code
]


@pytest.mark.parametrize("text", UK_MOBILES)
def test_uk_mobiles_as_people_write_them_are_stored_in_e164(text):
    assert phone_e164(text, region="GB") == "+447700900123"


def test_numbers_libphonenumber_knows_stay_as_they_were():
    assert phone_e164("07911 123456", region="GB") == "+447911123456"
    assert phone_e164("020 7946 0958", region="GB") == "+442079460958"
    assert phone_e164("01 42 68 53 00", region="FR") == "+33142685300"
    assert phone_e164("", region="GB") == ""


@pytest.mark.parametrize("text", NOT_PHONE_NUMBERS)
def test_not_phone_numbers_are_refused_with_the_expected_format(text):
    with pytest.raises(ValidationError) as exc:
        phone_e164(text, region="GB")
    (message,) = exc.value.messages
    assert message.startswith(f"'{text}' is not a valid phone number")
    assert "07400 123456 or +44 7400 123456" in message


def test_example_number_is_of_the_tenant_country():
    from dispatch.services.phones import phone_example

    assert phone_example("GB") == "07400 123456 or +44 7400 123456"
    assert phone_example("FR") == "06 12 34 56 78 or +33 6 12 34 56 78"
    assert phone_example("") == ""


def test_driver_service_stores_uk_mobiles_and_refuses_nonsense(alpha):
    with schema_context(alpha.tenant.schema_name):
        for number, text in enumerate(UK_MOBILES):
            driver = fleet.driver_create(name=f"Mobile {number}", phone=text)
            driver.refresh_from_db()
            assert driver.phone == "+447700900123", text
        with pytest.raises(ValidationError) as exc:
            fleet.driver_create(name="Nonsense", phone="07700 900")
        assert list(exc.value.message_dict) == ["phone"]
        assert not Driver.objects.filter(name="Nonsense").exists()


def test_driver_form_takes_a_uk_mobile_and_shows_the_expected_format(alpha):
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    page = dispatcher.get("/fleet/drivers/new/").content.decode()
    assert "For example 07400 123456 or +44 7400 123456" in page

    form = {"name": "Mo Bile", "shift_start": "08:00", "shift_end": "17:00", "break_minutes": 0}
    refused = dispatcher.post("/fleet/drivers/new/", {**form, "phone": "07700 9001234"})
    assert refused.status_code == 200
    assert "&#x27;07700 9001234&#x27; is not a valid phone number" in refused.content.decode()
    saved = dispatcher.post("/fleet/drivers/new/", {**form, "phone": "(07700) 900 123"})
    assert saved.status_code == 302
    with schema_context(alpha.tenant.schema_name):
        assert Driver.objects.get(name="Mo Bile").phone == "+447700900123"


def test_driver_api_takes_a_uk_mobile_and_refuses_nonsense_with_a_field_error(alpha):
    client = api_client(alpha.host, alpha.api_key)
    created = client.post("/api/v1/drivers", {"name": "Api Mo", "phone": "447700900123"})
    assert created.status_code == 201, created.json()
    assert created.json()["phone"] == "+447700900123"
    updated = client.patch(f"/api/v1/drivers/{created.json()['id']}", {"phone": "07700 900456"})
    assert (updated.status_code, updated.json()["phone"]) == (200, "+447700900456")

    refused = client.post("/api/v1/drivers", {"name": "Api No", "phone": "06000 000000"})
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["phone"]
    assert "is not a valid phone number" in refused.json()["errors"]["phone"][0]


def test_orders_take_the_same_numbers(alpha):
    import datetime as dt

    from django.utils import timezone

    order = {
        "customer_name": "Drama Customer",
        "customer_phone": "07700 900123",
        "address_line1": "1 Test Street",
        "lat": 51.5,
        "lng": -0.1,
        "delivery_date": (timezone.localdate() + dt.timedelta(days=1)).isoformat(),
    }
    response = api_client(alpha.host, alpha.api_key).post("/api/v1/orders", order, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["customer_phone"] == "+447700900123"
