"""Tenants' message templates from Django's template language to placeholders (issue 26).

`{{ customer }}` becomes `{customer_name}`, `{% if x %}…{% endif %}` an optional part
`[…]`, `{{ customer|default:"there" }}` a fallback `[{customer_name}|there]`, and
`{% if x %}A{% elif y %}B{% else %}C{% endif %}` alternatives `[A|B|C]`, when
each conditional part shows the value it tests (the new syntax drops a part by the
placeholders inside it, so a condition on a value the part does not show cannot be said).
A template left exactly as our old default is removed: the new default, translated, is
sent instead. Anything else (filters, loops, nested conditions, other tests) is not
guessed at: the original text moves under "_legacy" where the settings page shows it with
a note to rewrite it, and the default is sent until then.

This file keeps its own copy of everything it needs, so that later changes to the
application cannot change what it did.
"""

from __future__ import annotations

import re

from django.db import migrations

LEGACY = "_legacy"

NAMES = {
    "business": "business",
    "customer": "customer_name",
    "order": "order",
    "date": "date",
    "window": "window",
    "eta": "eta",
    "eta_window": "eta_window",
    "link": "tracking_link",
    "driver": "driver_name",
    "stops_before": "stops_before",
    "reason": "reason",
    "recipient": "recipient",
}

# The defaults before issue 26, as the settings page offered them.
OLD_DEFAULTS = {
    "confirmed.sms": (
        "{{ business }}: order {{ order }} is booked for {{ date }}"
        "{% if window %}, {{ window }}{% endif %}. Track it: {{ link }}"
    ),
    "out_for_delivery.sms": (
        "{{ business }}: your order {{ order }} is on its way"
        "{% if eta_window %}, expected {{ eta_window }}{% elif eta %}, expected around {{ eta }}"
        "{% endif %}. Track it: {{ link }}"
    ),
    "arriving_soon.sms": (
        "{{ business }}: {% if driver %}{{ driver }}{% else %}your driver{% endif %} is "
        "{% if stops_before and stops_before != '0' %}{{ stops_before }} stop(s) away"
        "{% else %}on the way to you{% endif %}{% if eta_window %}, expected {{ eta_window }}"
        "{% elif eta %}, around {{ eta }}{% endif %}. "
        "{{ link }}"
    ),
    "eta_changed.sms": (
        "{{ business }}: order {{ order }} is now expected {% if eta_window %}{{ eta_window }}"
        "{% else %}around {{ eta }}{% endif %}. Sorry for the change. {{ link }}"
    ),
    "delivered.sms": (
        "{{ business }}: order {{ order }} was delivered"
        "{% if recipient %} to {{ recipient }}{% endif %}. Proof of delivery: {{ link }}"
    ),
    "failed.sms": (
        "{{ business }}: we could not deliver order {{ order }}"
        "{% if reason %} ({{ reason }}){% endif %}. We will be in touch to arrange another time."
    ),
    "rescheduled.sms": (
        "{{ business }}: order {{ order }} is now booked for {{ date }}"
        "{% if window %}, {{ window }}{% endif %}. {{ link }}"
    ),
}
for _key in list(OLD_DEFAULTS):
    OLD_DEFAULTS[_key.replace(".sms", ".email")] = (
        "Hello {{ customer }},\n\n" + OLD_DEFAULTS[_key].split(": ", 1)[1] + "\n\n{{ business }}"
    )

_TAG = re.compile(r"({%.*?%}|{{.*?}}|{#.*?#})")
_VARIABLE = re.compile(r"^{{\s*(\w+)\s*}}$")
_DEFAULTED = re.compile(r"""^{{\s*(\w+)\s*\|\s*default:\s*(?:"([^"]*)"|'([^']*)')\s*}}$""")
_PLACEHOLDER = re.compile(r"{(\w+)}")


class Unconvertible(Exception):
    pass


def _escape(text: str, *, inside: bool) -> str:
    text = re.sub(r"([\\{}\[\]])", r"\\\1", text)
    return text.replace("|", "\\|") if inside else text


def _condition(expression: str) -> set[str]:
    """The placeholders a condition needs filled: `x`, `x and y`; `stops_before != '0'`
    too, since none before is now an empty `stops_before`."""
    needed = set()
    for part in re.split(r"\s+and\s+", expression.strip()):
        part = part.strip()
        if re.fullmatch(r"stops_before\s*!=\s*(['\"])0\1", part):
            needed.add("stops_before")
        elif part in NAMES:
            needed.add(NAMES[part])
        else:
            raise Unconvertible(part)
    return needed


def convert(source: str) -> str:
    """`source` (Django syntax) in placeholders; `Unconvertible` when that cannot be said
    honestly."""
    out: list[str] = []
    block: list[tuple[set[str] | None, list[str]]] | None = None  # (needed, text) per branch
    for token in _TAG.split(source):
        if not token:
            continue
        target = block[-1][1] if block is not None else out
        if token.startswith("{#"):
            continue
        if token.startswith("{{"):
            match = _VARIABLE.match(token)
            defaulted = _DEFAULTED.match(token)
            if match and match.group(1) in NAMES:
                target.append("{" + NAMES[match.group(1)] + "}")
            elif defaulted and defaulted.group(1) in NAMES and block is None:
                # {{ customer|default:"there" }}: the value, else the words (optional
                # parts do not nest, so not inside a condition)
                fallback = (
                    defaulted.group(2) if defaulted.group(2) is not None else defaulted.group(3)
                )
                target.append(
                    "[{" + NAMES[defaulted.group(1)] + "}|" + _escape(fallback, inside=True) + "]"
                )
            else:
                raise Unconvertible(token)
            continue
        if token.startswith("{%"):
            words = token[2:-2].strip().split(None, 1)
            tag, rest = (words[0], words[1] if len(words) > 1 else "") if words else ("", "")
            if tag == "if":
                if block is not None:
                    raise Unconvertible("nested if")
                block = [(_condition(rest), [])]
            elif tag == "elif" and block is not None and block[-1][0] is not None:
                block.append((_condition(rest), []))
            elif tag == "else" and block is not None and block[-1][0] is not None:
                block.append((None, []))
            elif tag == "endif" and block is not None:
                out.append(_optional(block))
                block = None
            else:
                raise Unconvertible(token)
            continue
        target.append(_escape(token, inside=block is not None))
    if block is not None:
        raise Unconvertible("if without endif")
    return "".join(out)


def _optional(block) -> str:
    alternatives = []
    for needed, parts in block:
        text = "".join(parts)
        if needed is None:
            if text:
                alternatives.append(text)
            continue
        if not needed <= set(_PLACEHOLDER.findall(text)):
            raise Unconvertible("a branch that does not show what it tests")
        alternatives.append(text)
    return "[" + "|".join(alternatives) + "]"


def converted_templates(templates: dict) -> dict:
    """A tenant's stored templates after the conversion (see the module's docstring)."""
    result: dict = {}
    legacy = dict(templates.get(LEGACY) or {})
    for key, source in templates.items():
        if key == LEGACY or not isinstance(source, str) or not source.strip():
            continue
        if " ".join(source.split()) == " ".join(OLD_DEFAULTS.get(key, "").split()):
            continue
        if "{{" not in source and "{%" not in source and "{#" not in source:
            result[key] = _escape(source, inside=False)  # plain text: braces mean themselves
            continue
        try:
            result[key] = convert(source)
        except Unconvertible:
            legacy[key] = source
    if legacy:
        result[LEGACY] = legacy
    return result


def forwards(apps, schema_editor) -> None:
    NotificationSettings = apps.get_model("notifications", "NotificationSettings")
    for row in NotificationSettings.objects.exclude(templates={}):
        templates = row.templates if isinstance(row.templates, dict) else {}
        new = converted_templates(templates)
        if new != row.templates:
            row.templates = new
            row.save(update_fields=["templates"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0009_conversations_and_masking")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
