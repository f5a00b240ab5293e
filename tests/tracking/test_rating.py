"""The customer's rating on the tracking page: once per delivered order, stars 1-5 and a
short comment, a low one alerting the dispatcher; posted with the link's token only."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_tenants.utils import schema_context

from dispatch.models import Driver, Order, OrderStatus
from dispatch.services.orders import order_transition
from routing.models import DispatchAlert
from tests.conftest import host_client, tenant_today
from tracking.models import DeliveryRating
from tracking.services.day import tracking_link_for
from tracking.services.rating import rating_submit

pytestmark = pytest.mark.django_db

ON_THE_WAY = [OrderStatus.PLANNED, OrderStatus.DISPATCHED, OrderStatus.EN_ROUTE]


def an_order(name: str, *, pk: int | None = None, driver: Driver | None = None) -> Order:
    """An order of today (current schema), delivered by `driver` when one is given."""
    order = Order.objects.create(
        pk=pk,
        customer_name=name,
        address_line1="1 High Street",
        city="London",
        delivery_date=tenant_today(),
        lat=51.5,
        lng=-0.12,
    )
    if driver is not None:
        for status in [*ON_THE_WAY, OrderStatus.ARRIVED, OrderStatus.DELIVERED]:
            order = order_transition(order=order, to=status, actor=f"driver:{driver.pk}")
    return order


def delivered(name: str = "Rated customer", **kwargs) -> Order:
    return an_order(name, driver=Driver.objects.create(name=f"Driver of {name}"), **kwargs)


def field_errors(excinfo) -> dict:
    return excinfo.value.message_dict


# --- the service --------------------------------------------------------------------------


def test_a_delivered_order_is_rated_once_with_its_driver(alpha):
    with schema_context(alpha.tenant.schema_name):
        order = delivered()
        rating = rating_submit(order_id=order.pk, stars="4", comment="  Friendly, on time.  ")
        assert (rating.stars, rating.comment) == (4, "Friendly, on time.")
        assert rating.driver.name == "Driver of Rated customer"
        with pytest.raises(ValidationError) as second:
            rating_submit(order_id=order.pk, stars=1, comment="Changed my mind")
        assert "already been rated" in " ".join(field_errors(second)["__all__"])
        (kept,) = DeliveryRating.objects.filter(order=order)
        assert (kept.stars, kept.comment) == (4, "Friendly, on time.")
        assert not DispatchAlert.objects.filter(order=order).exists()  # the 1 was refused


def test_an_order_not_delivered_yet_cannot_be_rated(alpha):
    with schema_context(alpha.tenant.schema_name):
        order = an_order("Waiting")
        for status in ON_THE_WAY:
            order = order_transition(order=order, to=status, actor="test")
        with pytest.raises(ValidationError) as refused:
            rating_submit(order_id=order.pk, stars=5)
        assert "once it has been delivered" in field_errors(refused)["stars"][0]
        assert not DeliveryRating.objects.filter(order=order).exists()


@pytest.mark.parametrize("stars", [0, 6, -1, "", None, "abc", "2.5", 2.5, True, "1e1", [3]])
def test_stars_must_be_a_whole_number_from_1_to_5(alpha, stars):
    with schema_context(alpha.tenant.schema_name):
        order = delivered()
        with pytest.raises(ValidationError) as refused:
            rating_submit(order_id=order.pk, stars=stars)
        assert field_errors(refused)["stars"] == ["Choose from 1 to 5 stars."]
        assert not DeliveryRating.objects.exists()


def test_a_comment_is_at_most_a_thousand_characters(alpha):
    with schema_context(alpha.tenant.schema_name):
        order = delivered()
        with pytest.raises(ValidationError) as refused:
            rating_submit(order_id=order.pk, stars=5, comment="x" * 1001)
        assert "At most 1,000 characters" in field_errors(refused)["comment"][0]
        assert not DeliveryRating.objects.exists()
        rating = rating_submit(order_id=order.pk, stars=5, comment=" " + "x" * 1000 + "\n")
        assert len(rating.comment) == 1000


def test_a_low_rating_alerts_the_dispatcher_once_and_a_high_one_not(alpha):
    with schema_context(alpha.tenant.schema_name):
        low, high = delivered("Unhappy"), delivered("Happy")
        rating_submit(order_id=low.pk, stars=2, comment="Parcel left in the rain")
        rating_submit(order_id=high.pk, stars=3)
        (alert,) = DispatchAlert.objects.all()
        assert alert.kind == DispatchAlert.Kind.LOW_RATING and alert.order_id == low.pk
        assert alert.get_kind_display() == "Low customer rating"
        assert "2 of 5" in alert.message and "Parcel left in the rain" in alert.message
        assert alert.date == tenant_today() and alert.seen_at is None


def test_the_database_keeps_one_rating_per_order_and_stars_in_range(alpha):
    """What a double click racing past the service's check meets: the table's own rules."""
    with schema_context(alpha.tenant.schema_name):
        order = delivered()
        DeliveryRating.objects.create(order=order, stars=5)
        with pytest.raises(IntegrityError), transaction.atomic():
            DeliveryRating.objects.create(order=order, stars=4)
        with pytest.raises(IntegrityError), transaction.atomic():
            DeliveryRating.objects.create(order=delivered("Other"), stars=6)


def test_a_double_click_that_loses_the_race_is_told_it_is_rated(alpha, monkeypatch):
    """The check before the insert passes for both clicks; the second insert hits the
    unique order and is answered "already rated", leaving the first rating alone."""
    with schema_context(alpha.tenant.schema_name):
        order = delivered()
        first = DeliveryRating.objects.create(order=order, stars=5)
        real_filter = DeliveryRating.objects.filter

        class NotYet:
            def exists(self) -> bool:
                return False

        monkeypatch.setattr(DeliveryRating.objects, "filter", lambda **kw: NotYet())
        with pytest.raises(ValidationError) as second:
            rating_submit(order_id=order.pk, stars=1)
        monkeypatch.setattr(DeliveryRating.objects, "filter", real_filter)
        assert "already been rated" in field_errors(second)["__all__"][0]
        assert list(DeliveryRating.objects.filter(order=order)) == [first]
        assert not DispatchAlert.objects.exists()


# --- the page and its post ----------------------------------------------------------------


def test_the_customer_rates_without_signing_in_and_is_thanked(alpha):
    with schema_context(alpha.tenant.schema_name):
        order = delivered()
        token = tracking_link_for(order)
    public = host_client("localhost")
    page = public.get(f"/t/{token}").content.decode()
    assert 'id="rating-form"' in page and 'for="rating-star-2"' in page
    assert "csrfmiddlewaretoken" in page
    response = public.post(f"/t/{token}/rating", {"stars": "5", "comment": "Lovely"})
    assert response.status_code == 302
    assert response["Location"] == f"/t/{token}#track-rating"
    page = public.get(f"/t/{token}").content.decode()
    assert "Thanks — you rated 5 stars" in page and 'id="rating-form"' not in page
    again = public.post(f"/t/{token}/rating", {"stars": "1"})
    assert again.status_code == 400 and "already been rated" in again.content.decode()
    with schema_context(alpha.tenant.schema_name):
        assert DeliveryRating.objects.get(order=order).stars == 5


def test_the_post_needs_the_csrf_token(alpha):
    with schema_context(alpha.tenant.schema_name):
        token = tracking_link_for(delivered())
    strict = host_client("localhost")
    strict.handler.enforce_csrf_checks = True
    assert strict.post(f"/t/{token}/rating", {"stars": "5"}).status_code == 403
    page = strict.get(f"/t/{token}").content.decode()
    csrf = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = strict.post(f"/t/{token}/rating", {"stars": "5", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302


def test_bad_input_shows_the_field_error_not_a_500(alpha):
    with schema_context(alpha.tenant.schema_name):
        order = delivered()
        token = tracking_link_for(order)
    public = host_client("localhost")
    page = public.post(f"/t/{token}/rating", {"stars": "9", "comment": "Hi"})
    assert page.status_code == 400
    text = page.content.decode()
    assert "Choose from 1 to 5 stars." in text and ">Hi</textarea>" in text
    long = public.post(f"/t/{token}/rating", {"stars": "3", "comment": "y" * 1001})
    assert long.status_code == 400 and "At most 1,000 characters" in long.content.decode()
    assert public.post(f"/t/{token}/rating", {}).status_code == 400
    answer = public.post(f"/t/{token}/rating", {"stars": "nope"}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 400
    assert answer.json() == {"errors": {"stars": ["Choose from 1 to 5 stars."]}}
    assert public.get(f"/t/{token}/rating").status_code == 405
    with schema_context(alpha.tenant.schema_name):
        assert not DeliveryRating.objects.exists()
    made = public.post(f"/t/{token}/rating", {"stars": "2"}, HTTP_ACCEPT="application/json")
    assert made.status_code == 201 and made.json() == {"stars": 2}


def test_before_delivery_the_page_asks_nothing_and_a_post_is_refused(alpha):
    with schema_context(alpha.tenant.schema_name):
        order = an_order("Not yet")
        token = tracking_link_for(order)
    public = host_client("localhost")
    assert 'id="track-rating"' not in public.get(f"/t/{token}").content.decode()
    response = public.post(f"/t/{token}/rating", {"stars": "5"})
    assert response.status_code == 400
    with schema_context(alpha.tenant.schema_name):
        assert not DeliveryRating.objects.exists()


def test_unknown_and_expired_links_answer_as_the_tracking_page_does(alpha):
    from tracking.models import TrackingSettings

    with schema_context(alpha.tenant.schema_name):
        token = tracking_link_for(delivered())
        TrackingSettings.objects.update_or_create(pk=1, defaults={"tracking_link_ttl_hours": 0})
    public = host_client("localhost")
    assert public.post(f"/t/{'a' * 43}/rating", {"stars": "5"}).status_code == 404
    assert public.post(f"/t/{token}/rating", {"stars": "5"}).status_code == 410
    assert public.get(f"/t/{token}").status_code == 410
    json = public.post(f"/t/{'b' * 43}/rating", {"stars": "5"}, HTTP_ACCEPT="application/json")
    assert json.status_code == 404 and json.json() == {"error": "not_found"}
    with schema_context(alpha.tenant.schema_name):
        assert not DeliveryRating.objects.exists()


def test_a_token_rates_its_own_tenants_order_only_though_ids_repeat(alpha, beta):
    """Order ids repeat across schemas: alpha's link rates alpha's order, never beta's
    order of the same id, and beta's page never shows alpha's rating."""
    with schema_context(alpha.tenant.schema_name):
        ours = delivered("Ours")
        our_token = tracking_link_for(ours)
    with schema_context(beta.tenant.schema_name):
        theirs = delivered("Theirs", pk=ours.pk)
        their_token = tracking_link_for(theirs)
    public = host_client("localhost")
    assert public.post(f"/t/{our_token}/rating", {"stars": "1"}).status_code == 302
    with schema_context(beta.tenant.schema_name):
        assert not DeliveryRating.objects.exists()
        assert not DispatchAlert.objects.exists()
    with schema_context(alpha.tenant.schema_name):
        (rating,) = DeliveryRating.objects.all()
        assert rating.order_id == ours.pk and rating.driver.name == "Driver of Ours"
        assert DispatchAlert.objects.get().order_id == ours.pk
    their_page = public.get(f"/t/{their_token}").content.decode()
    assert 'id="rating-form"' in their_page and "you rated" not in their_page
    assert public.post(f"/t/{their_token}/rating", {"stars": "5"}).status_code == 302
    with schema_context(beta.tenant.schema_name):
        assert DeliveryRating.objects.get().stars == 5
    with schema_context(alpha.tenant.schema_name):
        assert DeliveryRating.objects.get().stars == 1


def test_a_low_rating_shows_on_the_dispatchers_overview_with_its_order(alpha):
    from tests.conftest import login_client

    with schema_context(alpha.tenant.schema_name):
        order = delivered("Grumpy")
        rating_submit(order_id=order.pk, stars=1, comment="Late")
    page = login_client(alpha.host, alpha.dispatcher_email).get("/").content.decode()
    assert "Low customer rating" in page
    assert f"/orders/{order.pk}/" in page and "rated order" in page
