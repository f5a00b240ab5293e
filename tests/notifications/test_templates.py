"""Message templates a shop owner can write (issue 26 item 5): placeholders from a list,
optional parts, literals, errors in the owner's words at save time and in the live
preview, translatable defaults, and migration 0010's conversion of the old syntax."""

from __future__ import annotations

import importlib
import re

import pytest
from django.conf import settings
from django.utils import translation
from django_tenants.utils import schema_context

from dispatch.models import Order
from notifications.models import Notification, NotificationSettings
from notifications.services import sending as services
from notifications.services.messages import (
    DEFAULTS,
    LEGACY,
    PICKUP_DEFAULTS,
    PLACEHOLDERS,
    SAMPLE,
    render,
    template_for,
)
from notifications.services.placeholders import TemplateError, parse
from notifications.views.settings import PLACEHOLDER_HELP
from tests.conftest import login_client, tenant_today
from tests.notifications.test_tracking_page import MESSAGE_SETTINGS

migration = importlib.import_module("notifications.migrations.0010_placeholder_templates")

#: Values that are empty for some orders (no name, no window, no ETA yet, driver hidden…).
MAY_BE_EMPTY = (
    "customer_name",
    "date",
    "window",
    "eta",
    "eta_window",
    "driver_name",
    "stops_before",
    "reason",
    "recipient",
)
EMPTY = {**SAMPLE, **dict.fromkeys(MAY_BE_EMPTY, "")}


# rendering -------------------------------------------------------------------------------


def test_placeholders_are_replaced_by_the_orders_values():
    assert render("Hi {customer_name}, {order} comes {date}.", SAMPLE) == (
        "Hi Sam, #1042 comes Tuesday 1 December."
    )


def test_an_optional_part_is_kept_when_its_placeholders_are_filled_and_dropped_when_not():
    source = "On its way[, expected {eta_window}]. {tracking_link}"
    assert render(source, SAMPLE) == "On its way, expected 10:15-11:15. https://example.com/t/abc"
    assert render(source, {**SAMPLE, "eta_window": ""}) == "On its way. https://example.com/t/abc"
    # any empty placeholder inside drops the whole part
    both = "Done[ by {driver_name} at {eta}]."
    assert render(both, SAMPLE) == "Done by Dana at 10:40."
    assert render(both, {**SAMPLE, "eta": ""}) == "Done."


def test_alternatives_give_the_first_filled_one_and_plain_text_last_is_the_fallback():
    source = "[{driver_name}|your driver] is coming[, expected {eta_window}|, around {eta}]."
    assert render(source, SAMPLE) == "Dana is coming, expected 10:15-11:15."
    no_driver = {**SAMPLE, "driver_name": "", "eta_window": ""}
    assert render(source, no_driver) == "your driver is coming, around 10:40."
    assert render(source, {**no_driver, "eta": ""}) == "your driver is coming."


def test_a_backslash_writes_braces_brackets_and_bars_themselves():
    source = r"Code \{{order}\} \[box 3\] a\|b | c \\ done"
    assert render(source, SAMPLE) == r"Code {#1042} [box 3] a|b | c \ done"


def test_sms_is_one_line_and_email_keeps_its_lines():
    source = "Hello {customer_name},\n\nyour  order {order}[ at {eta}].\n\n{business}"
    assert render(source, SAMPLE) == "Hello Sam, your order #1042 at 10:40. Acme Flowers"
    assert render(source, {**SAMPLE, "eta": ""}, one_line=False) == (
        "Hello Sam,\n\nyour order #1042.\n\nAcme Flowers"
    )


# errors ----------------------------------------------------------------------------------


def _problems(source: str) -> str:
    with pytest.raises(TemplateError) as caught:
        parse(source)
    return " ".join(caught.value.problems)


def test_an_unknown_placeholder_is_named_with_the_closest_known_one():
    text = _problems("Hi {custmer_name}, {order} {lnk}")
    assert "{custmer_name} is not a placeholder; did you mean {customer_name}?" in text
    assert "{lnk} is not a placeholder" in text  # every unknown one is said
    assert "did you mean {tracking_link}" in _problems("{link}")  # the old names too
    assert "did you mean" not in _problems("{zebra_crossing}")


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("Hi {customer_name", "is not closed"),
        ("Hi {", "is not closed"),
        ("Hi {\n}", "is not closed"),
        ("Hi {customer_name. Bye", "is not closed"),
        ("Hi customer_name}", "A } without its {"),
        ("Soon[, {eta}", "square bracket"),
        ("Soon, {eta}]", "A ] without its ["),
        ("[a [{eta}]]", "cannot be nested"),
        ("Box [3] soon", "without a placeholder"),
        ("[always|{eta}]", "without a placeholder"),
        ("{}", "Empty braces"),
    ],
)
def test_broken_structure_is_refused_with_how_to_write_it(source, words):
    assert words in _problems(source)


def test_a_mistake_repeated_is_said_once_and_a_long_list_is_cut():
    with pytest.raises(TemplateError) as caught:
        parse("{zz} " * 5000)
    assert caught.value.problems == [
        "{zz} is not a placeholder; the placeholders are listed under the field."
    ]
    many = " ".join(f"{{x{i}}}" for i in range(30))
    with pytest.raises(TemplateError) as caught:
        parse(many)
    problems = caught.value.problems
    assert len(problems) == 10 and problems[0].startswith("{x0} is not a placeholder")
    assert problems[-1] == "…and 21 more problems."


def test_unicode_and_a_backslash_before_anything_else_are_plain_text():
    assert render("Hyvää päivää {customer_name} 🚚 ✓", SAMPLE) == "Hyvää päivää Sam 🚚 ✓"
    # a backslash escapes only \\ { } [ ] and |; before anything else it is itself
    assert render("C:\\temp\\x and a last \\", SAMPLE) == "C:\\temp\\x and a last \\"
    assert render("a | b [{eta}|]", {**SAMPLE, "eta": ""}) == "a | b"


def test_django_syntax_is_refused_with_the_new_way_to_write_it():
    assert "write {customer_name} (single braces)" in _problems("Hi {{ customer }}!")
    assert "write {tracking_link}" in _problems("{{link}}")
    old_if = _problems("{% if eta %}at {{ eta }}{% endif %}")
    assert "old syntax" in old_if and "[, expected {eta_window}]" in old_if
    assert "comments" in _problems("{# note #}Hi")


# defaults --------------------------------------------------------------------------------


@pytest.mark.parametrize("defaults", [DEFAULTS, PICKUP_DEFAULTS], ids=["delivery", "pickup"])
def test_every_default_renders_with_sample_and_with_empty_values_cleanly(defaults):
    assert len(defaults) == 14
    for key in defaults:
        for values in (SAMPLE, EMPTY):
            text = render(defaults[key], values, one_line=key.endswith(".sms"))
            assert text.startswith(("Acme Flowers:", "Hello")), (key, text)
            leftovers = re.findall(r" [,.:)]|\( |\(\)|,[.,]|  |\[|\]|\{|\}", text)
            assert not leftovers, (key, values is EMPTY, text)
    assert render(defaults["delivered.sms"], EMPTY).endswith(SAMPLE["tracking_link"])


def test_defaults_keep_todays_wording():
    assert render(DEFAULTS["arriving_soon.sms"], SAMPLE) == (
        "Acme Flowers: Dana is 2 stop(s) away, expected 10:15-11:15. https://example.com/t/abc"
    )
    assert render(DEFAULTS["arriving_soon.sms"], {**EMPTY, "eta": "10:40"}) == (
        "Acme Flowers: your driver is on the way to you, around 10:40. https://example.com/t/abc"
    )
    assert render(DEFAULTS["failed.email"], SAMPLE, one_line=False) == (
        "Hello Sam,\n\nwe could not deliver order #1042 (Nobody home). We will be in touch to "
        "arrange another time.\n\nAcme Flowers"
    )
    assert render(DEFAULTS["confirmed.email"], EMPTY, one_line=False).startswith("Hello,\n\n")
    assert "collect a parcel" in render(PICKUP_DEFAULTS["arriving_soon.sms"], SAMPLE)


def test_defaults_are_read_in_the_active_language_and_never_translate_placeholders(
    monkeypatch,
):
    english = DEFAULTS["delivered.sms"]
    assert "{order}" in english and "{tracking_link}" in english
    # a translator's slip (a translated placeholder) falls back to the English, not a crash
    from notifications.services import messages

    monkeypatch.setattr(
        messages, "pgettext", lambda context, text: text.replace("{business}", "{entreprise}")
    )
    assert DEFAULTS["delivered.sms"] == english
    with translation.override("fr"):
        assert set(PLACEHOLDERS) >= _names(DEFAULTS["delivered.sms"])


def test_a_default_takes_the_language_active_when_rendered_not_when_looked_up(monkeypatch):
    from notifications.services import messages

    source = DEFAULTS["failed.sms"]  # picked before the order's language is entered
    monkeypatch.setattr(
        messages, "pgettext", lambda context, text: text.replace("{business}: ", "{business} // ")
    )
    assert render(source, SAMPLE).startswith("Acme Flowers // we could not deliver order #1042")


_DELIVERED = "order {order} was delivered[ to {recipient}]. Proof of delivery: {tracking_link}"


def _catalog(monkeypatch, entries: dict[tuple[str, str], str]) -> None:
    """A translators' catalog for the test: (context, English) -> the translation, read
    through Django's own pgettext (so the lazy defaults meet it as they would a .po)."""
    from django.utils.translation import trans_real

    real = trans_real.gettext

    def gettext(message):
        context, _sep, text = str(message).partition(trans_real.CONTEXT_SEPARATOR)
        if translation.get_language() == "fr" and (context, text) in entries:
            return entries[context, text]
        return real(message)

    monkeypatch.setattr(trans_real, "gettext", gettext)


def test_a_translated_default_is_sent_translated(monkeypatch):
    _catalog(
        monkeypatch,
        {
            ("customer SMS", "{business}: %(message)s"): "{business} : %(message)s",
            ("delivered", _DELIVERED): "commande {order} livrée[ à {recipient}]. Preuve : "
            "{tracking_link}",
        },
    )
    source = DEFAULTS["delivered.sms"]
    with translation.override("fr"):
        assert render(source, SAMPLE) == (
            "Acme Flowers : commande #1042 livrée à Sam Porch. Preuve : https://example.com/t/abc"
        )
    assert render(source, SAMPLE).startswith("Acme Flowers: order #1042 was delivered")


@pytest.mark.parametrize(
    "broken",
    [
        "commande {commande} livrée. {tracking_link}",  # a placeholder translated
        "commande {order} livrée[ à {recipient}. {tracking_link}",  # a bracket lost
        "commande {order} livrée[ à destination]. {tracking_link}",  # nothing to drop it by
        "commande {{ order }} livrée. {tracking_link}",  # the old syntax
    ],
)
def test_a_translation_that_does_not_parse_gives_way_to_the_english(monkeypatch, broken):
    _catalog(monkeypatch, {("delivered", _DELIVERED): broken})
    with translation.override("fr"):
        text = render(DEFAULTS["delivered.sms"], SAMPLE)
    assert text == (
        "Acme Flowers: order #1042 was delivered to Sam Porch. Proof of delivery: "
        "https://example.com/t/abc"
    )


def test_a_translated_frame_without_the_message_gives_way_to_the_english(monkeypatch):
    _catalog(
        monkeypatch,
        {
            (
                "customer email",
                "Hello[ {customer_name}],\n\n%(message)s\n\n{business}",
            ): "Bonjour[ {customer_name}],\n\n%(texte)s"
        },
    )
    with translation.override("fr"):
        text = render(DEFAULTS["delivered.email"], SAMPLE, one_line=False)
    assert text.startswith("Hello Sam,\n\norder #1042 was delivered") and "Acme" in text


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
def test_the_shipped_translations_of_the_defaults_parse_and_keep_their_placeholders(language):
    """What the translators wrote in locale/: a message that did not parse would go in
    English (above); this says which one, before it ships."""
    from notifications.services import messages

    problems = []
    for bodies in (messages._BODIES, messages._PICKUP_BODIES):
        for event, body in bodies.items():
            english = _names(str(body))
            with translation.override(language):
                text = str(body)
                frames = {"sms": messages._frame("sms"), "email": messages._frame("email")}
            try:
                if _names(text) != english:
                    problems.append(f"{event}: {_names(text) ^ english} differ: {text!r}")
            except TemplateError as exc:
                problems.append(f"{event}: {exc.problems}: {text!r}")
        for channel, frame in frames.items():
            try:
                assert "{business}" in frame and frame.count("%(message)s") == 1, frame
                parse(frame % {"message": ""})
            except (AssertionError, TemplateError, KeyError, ValueError) as exc:
                problems.append(f"{channel} frame: {exc}: {frame!r}")
    assert not problems, "\n".join(problems)


def _names(source: str) -> set[str]:
    from notifications.services.placeholders import placeholders_in

    return placeholders_in(source)


def test_every_placeholder_is_explained_on_the_page():
    assert set(PLACEHOLDER_HELP) == set(PLACEHOLDERS)


# overrides and the messages sent ---------------------------------------------------------


def test_the_messages_sent_carry_the_owners_template_with_its_optional_parts(alpha, memory_sms):
    with schema_context(alpha.tenant.schema_name):
        row = services.notification_settings()
        row.templates = {"delivered.sms": "Done, {customer_name}![ Taken by {recipient}.]"}
        row.sms_events = ["delivered", "failed"]
        row.save()
        order = Order.objects.create(
            customer_name="Cy Ng", customer_phone="+447700900334", delivery_date=tenant_today(1)
        )
        (with_recipient,) = [
            n
            for n in services.notify_event(order, "delivered", recipient="Al")
            if n.channel == "sms"
        ]
        Notification.objects.filter(pk=with_recipient.pk).delete()
        (without,) = [n for n in services.notify_event(order, "delivered") if n.channel == "sms"]
        (failed,) = [
            n
            for n in services.notify_event(order, "failed", reason="Gate shut")
            if n.channel == "sms"
        ]
    assert with_recipient.body == "Done, Cy! Taken by Al."
    assert without.body == "Done, Cy!"
    assert failed.body == (
        f"{alpha.tenant.name}: we could not deliver order #{order.pk} (Gate shut). "
        "We will be in touch to arrange another time."
    )


def test_an_unconverted_legacy_template_is_never_sent(alpha):
    with schema_context(alpha.tenant.schema_name):
        row = services.notification_settings()
        row.templates = {LEGACY: {"delivered.sms": "{{ customer|upper }}"}}
        assert template_for(row, "delivered", "sms") == DEFAULTS["delivered.sms"]


# the settings page -----------------------------------------------------------------------


def test_a_template_with_an_unknown_placeholder_is_refused_at_save_and_nothing_is_saved(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post(
        "/settings/messages/",
        {
            **MESSAGE_SETTINGS,
            "monthly_sms_cap": 77,
            "template_delivered_sms": "Hi {custmer_name}, it came.",
            "template_confirmed_sms": "Booked {order}.",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "{custmer_name} is not a placeholder; did you mean {customer_name}?" in page
    assert "Nothing was saved" in page
    with schema_context(alpha.tenant.schema_name):
        row = NotificationSettings.objects.first()
        assert row is None or (row.monthly_sms_cap != 77 and not row.templates)


def test_the_preview_answers_the_text_its_segments_and_the_errors_while_typing(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    good = owner.post(
        "/settings/messages/preview",
        {
            "key": "out_for_delivery.sms",
            "template_out_for_delivery_sms": "Hi {customer_name}[, at {eta}]",
        },
    ).content.decode()
    assert "Hi Sam, at 10:40" in good and "1 SMS segment (GSM-7)" in good
    assert "has no {tracking_link}" in good  # a warning only: the owner may not want it
    bad = owner.post(
        "/settings/messages/preview",
        {"key": "delivered.sms", "template_delivered_sms": "Hi {custmer_name"},
    )
    assert bad.status_code == 200 and "is not closed" in bad.content.decode()
    pasted = owner.post(  # what the save refuses, the preview says, without reading it
        "/settings/messages/preview",
        {"key": "delivered.sms", "template_delivered_sms": "{zz} " * 1000},
    ).content.decode()
    assert "at most 2000 characters" in pasted and "not a placeholder" not in pasted
    default = owner.post("/settings/messages/preview", {"key": "delivered.sms"}).content.decode()
    assert "Acme Flowers: order #1042 was delivered to Sam Porch." in default
    assert "has no {tracking_link}" not in default


def test_the_preview_writes_the_sample_day_in_the_owners_language(alpha):
    from accounts.models import User

    with schema_context(alpha.tenant.schema_name):
        User.objects.filter(email=alpha.owner_email).update(language="fi")
    owner = login_client(alpha.host, alpha.owner_email)
    answer = owner.post(
        "/settings/messages/preview",
        {"key": "confirmed.sms", "template_confirmed_sms": "Booked for {date}."},
    ).content.decode()
    assert "Booked for tiistai 1. joulukuuta." in answer, answer


def test_the_page_lists_placeholders_as_chips_and_shows_a_legacy_template_until_rewritten(alpha):
    with schema_context(alpha.tenant.schema_name):
        row = services.notification_settings()
        row.templates = {
            LEGACY: {"failed.sms": "Sorry {{ customer|upper }}", "eta_changed.sms": "x"}
        }
        row.save()
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/settings/messages/").content.decode()
    assert page.count('data-insert-placeholder="customer_name"') == len(DEFAULTS)
    assert "js/message_templates.js" in page
    assert "Sorry {{ customer|upper }}" in page and "could not be converted" in page
    # saving other settings keeps it; writing that template (or forgetting it) ends it
    assert owner.post("/settings/messages/", MESSAGE_SETTINGS).status_code == 302
    with schema_context(alpha.tenant.schema_name):
        assert NotificationSettings.objects.get().templates[LEGACY] == {
            "failed.sms": "Sorry {{ customer|upper }}",
            "eta_changed.sms": "x",
        }
    done = owner.post(
        "/settings/messages/",
        {
            **MESSAGE_SETTINGS,
            "template_failed_sms": "Sorry {customer_name}",
            "forget_template_eta_changed_sms": "on",
        },
    )
    assert done.status_code == 302
    with schema_context(alpha.tenant.schema_name):
        assert NotificationSettings.objects.get().templates == {
            "failed.sms": "Sorry {customer_name}"
        }


# migration 0010 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Hi {{ customer }}, {{ link }}", "Hi {customer_name}, {tracking_link}"),
        (
            "Order {{order}}{% if window %} ({{ window }}){% endif %}.",
            "Order {order}[ ({window})].",
        ),
        (
            "{% if driver %}{{ driver }}{% else %}your driver{% endif %} comes",
            "[{driver_name}|your driver] comes",
        ),
        (
            "soon{% if eta_window %}, {{ eta_window }}{% elif eta %}, ~{{ eta }}{% endif %}",
            "soon[, {eta_window}|, ~{eta}]",
        ),
        ("Box [3] {x} a|b{# note #}", r"Box \[3\] \{x\} a|b"),
        ("{% if reason %} (a|b {{ reason }}){% endif %}", r"[ (a\|b {reason})]"),
        ("Plain [text] {here}", r"Plain \[text\] \{here\}"),
        ('Hi {{ customer|default:"there" }}!', "Hi [{customer_name}|there]!"),
        ("Hi {{customer|default:'you [all]'}}", r"Hi [{customer_name}|you \[all\]]"),
    ],
)
def test_the_migration_converts_what_it_can_say_honestly(old, new):
    assert migration.convert(old) == new
    parse(new)  # and the result is a valid template


@pytest.mark.parametrize(
    "old",
    [
        "{{ customer|upper }}",  # filters
        "{{ order.pk }}",
        "{% for x in y %}{% endfor %}",
        "{% if window %}{% if eta %}{{ eta }}{% endif %}{% endif %}",  # nested
        "{% if driver %}your driver is near{% endif %}",  # a condition the part does not show
        "{% if not eta %}soon{% endif %}",
        "{% if eta %}{{ eta }}",  # unclosed
        "{{ unknown_thing }}",
        "{{ customer|default:x }}",  # a variable as the default
        "{% if eta %}at {{ eta }}, {{ driver|default:'us' }}{% endif %}",  # it would nest
    ],
)
def test_the_migration_refuses_to_guess(old):
    with pytest.raises(migration.Unconvertible):
        migration.convert(old)


def test_the_migration_converts_the_old_defaults_and_keeps_the_unconvertible_for_the_owner():
    for key, old in migration.OLD_DEFAULTS.items():
        new = migration.convert(old)
        one_line = key.endswith(".sms")
        # the same message as before, for the sample, now in placeholders
        assert render(new, SAMPLE, one_line=one_line) == render(
            DEFAULTS[key], SAMPLE, one_line=one_line
        )
    stored = {
        "confirmed.sms": migration.OLD_DEFAULTS["confirmed.sms"],  # untouched: ours, translated
        "delivered.sms": "Done, {{ customer }}!",
        "failed.email": "Sorry {{ customer|title }}",
        "eta_changed.sms": "   ",
    }
    assert migration.converted_templates(stored) == {
        "delivered.sms": "Done, {customer_name}!",
        LEGACY: {"failed.email": "Sorry {{ customer|title }}"},
    }


def test_the_migration_runs_over_a_tenants_row(alpha):
    from django.apps import apps

    with schema_context(alpha.tenant.schema_name):
        row = services.notification_settings()
        row.templates = {"delivered.sms": "Done {{ order }}", "failed.sms": "{{ reason|lower }}"}
        row.save()
        migration.forwards(apps, None)
        row.refresh_from_db()
    assert row.templates == {
        "delivered.sms": "Done {order}",
        LEGACY: {"failed.sms": "{{ reason|lower }}"},
    }


def test_the_messages_page_gives_the_address_twilio_posts_replies_to(alpha):
    """Replies to the business's own number reach their orders only once Twilio posts them
    here: the owner finds the address on the page, on their own host."""
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/settings/messages/").content.decode()
    assert f'<code class="wrap">http://{alpha.host}/notifications/twilio/inbound</code>' in page
