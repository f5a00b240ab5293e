"""A message's identity at Twilio is its own key, carried in its status callback URL, never
its text: two messages with the same words to the same number are told apart, and a
message list that lags behind the messages Twilio has does not make one go twice."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from notifications.models import Notification
from notifications.services import sending as services
from notifications.services.senders import TwilioSender
from tests.conftest import host_client
from tests.notifications.test_sms import (  # noqa: F401 - the fake Twilio fixture
    _died_while_sending,
    _order,
    _send,
    _signed_post,
    twilio,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reports(settings, twilio):  # noqa: F811 - the fixture imported above
    """Twilio's reports reach the tenant's host over plain HTTP here (no proxy)."""
    settings.TWILIO_CALLBACK_BASE = "http://{host}"
    return twilio


def _report(host: str, message: dict, status: str = "sent") -> int:
    """What Twilio does: a signed POST of the message's status to the URL it was given."""
    url = message["StatusCallback"]
    params = {"MessageSid": message["sid"], "MessageStatus": status}
    return _signed_post(host_client(host), url, params).status_code


def _handed_over_then_died(notification: Notification) -> None:
    """The worker gave the message to Twilio, then died before it heard the answer."""
    TwilioSender().send(
        to=notification.to,
        body=notification.body,
        status_callback=services.status_callback_url(notification),
    )
    _died_while_sending(notification)


def test_same_words_to_the_same_number_are_two_messages_told_apart_by_their_keys(
    alpha, reports, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        first = _send(_order("same-1"), django_capture_on_commit_callbacks)
        second = _send(_order("same-2"), django_capture_on_commit_callbacks)
        assert (first.to, first.body) == (second.to, second.body)
        _handed_over_then_died(first)
        assert services.deliver(second.pk) == "sent"
    sent_first, sent_second = reports.messages
    assert sent_first["StatusCallback"].endswith(f"?key={first.send_key}")
    assert sent_second["StatusCallback"].endswith(f"?key={second.send_key}")
    assert first.send_key != second.send_key
    for message in (sent_second, sent_first):  # the reports come, the other one's first
        assert _report(alpha.host, message) == 204
    with schema_context(alpha.tenant.schema_name):
        assert services.deliver(first.pk) == "sent"
        first.refresh_from_db()
        second.refresh_from_db()
    assert first.provider_id == sent_first["sid"]
    assert second.provider_id == sent_second["sid"]
    assert len(reports.messages) == 2


def test_a_message_twilio_never_got_is_not_taken_for_another_with_the_same_words(
    alpha, reports, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        lost = _send(_order("lost"), django_capture_on_commit_callbacks)
        other = _send(_order("other"), django_capture_on_commit_callbacks)
        _died_while_sending(lost)  # its worker died before handing it over
        assert services.deliver(other.pk) == "sent"
        outcomes = [services.deliver(lost.pk) for _ in range(services.LIST_LOOKS)]
        lost.refresh_from_db()
    assert outcomes == ["sending"] * (services.LIST_LOOKS - 1) + ["sent"]
    assert len(reports.messages) == 2, "the lost one went once, the other one once"
    assert lost.provider_id == reports.messages[1]["sid"] != reports.messages[0]["sid"]


@pytest.mark.parametrize("lag", range(services.LIST_LOOKS))
def test_a_message_list_that_lags_never_makes_a_message_go_twice(
    alpha, reports, django_capture_on_commit_callbacks, lag
):
    reports.list_lag = lag  # Twilio lists the message only from the (lag + 1)th look on
    with schema_context(alpha.tenant.schema_name):
        notification = _send(_order(f"lag{lag}"), django_capture_on_commit_callbacks)
        _handed_over_then_died(notification)
        outcomes = [services.deliver(notification.pk) for _ in range(services.LIST_LOOKS)]
        looked = list(
            notification.attempts_made.filter(outcome="looked").values_list("detail", flat=True)
        )
    assert outcomes == ["sending"] * services.LIST_LOOKS
    (message,) = reports.messages
    assert message["sid"] in looked[-1] and all(message["sid"] not in d for d in looked[:lag])
    assert _report(alpha.host, message) == 204  # its report, by its key, settles it
    with schema_context(alpha.tenant.schema_name):
        assert services.deliver(notification.pk) == "sent"
        notification.refresh_from_db()
    assert notification.provider_id == message["sid"]
    assert len(reports.messages) == 1


def test_a_listed_message_whose_report_never_comes_is_failed_as_unknown_not_sent_again(
    alpha, reports, django_capture_on_commit_callbacks
):
    reports.list_lag = 1
    with schema_context(alpha.tenant.schema_name):
        notification = _send(_order("noreport"), django_capture_on_commit_callbacks)
        _handed_over_then_died(notification)
        outcomes = [services.deliver(notification.pk) for _ in range(services.MAX_LOOKS)]
        notification.refresh_from_db()
    assert outcomes == ["sending"] * (services.MAX_LOOKS - 1) + ["failed"]
    assert "outcome unknown" in notification.error
    assert reports.messages[0]["sid"] in notification.error
    assert len(reports.messages) == 1


def test_a_report_on_another_tenants_host_does_not_name_this_tenants_message(
    alpha, beta, reports, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        notification = _send(_order("mine"), django_capture_on_commit_callbacks)
        _handed_over_then_died(notification)
    with schema_context(beta.tenant.schema_name):  # beta's rows have the same ids
        theirs = _send(_order("theirs"), django_capture_on_commit_callbacks)
    message = reports.messages[0]
    elsewhere = {
        **message,
        "StatusCallback": message["StatusCallback"].replace(alpha.host, beta.host),
    }
    assert _report(beta.host, elsewhere) == 204
    with schema_context(alpha.tenant.schema_name):
        notification.refresh_from_db()
    with schema_context(beta.tenant.schema_name):
        theirs.refresh_from_db()
    assert (notification.status, notification.provider_id) == ("sending", "")
    assert (theirs.status, theirs.provider_id) == ("pending", "")
