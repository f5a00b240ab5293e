"""Where travel times come from, in the page's language.

`tenants.selectors.travel_source` says it in English ("Estimated: straight lines x 1.3",
"no road region is chosen in Settings → Roads"): that is what a plan stores (travel_label,
travel_note) and what the API answers, so it must not be translated when it is written (a
stored translation would keep the language of whoever solved the plan). The pages
translate the texts they know by their shape, and show any other as it is.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext, gettext_noop

register = template.Library()

_KNOWN = (
    (
        re.compile(r"Estimated: straight lines \u00d7 (?P<factor>[0-9]+(?:\.[0-9]+)?)"),
        gettext_noop("Estimated: straight lines × %(factor)s"),  # noqa: RUF001
    ),
    (
        re.compile(r"Roads: OSRM server \((?P<profile>[^()]*)\)"),
        gettext_noop("Roads: OSRM server (%(profile)s)"),
    ),
    (re.compile(r"Roads: (?P<region>.+)", re.S), gettext_noop("Roads: %(region)s")),
    (re.compile(r"Paths drawn straight"), gettext_noop("Paths drawn straight")),
    (
        re.compile(r"road paths are drawn only from a road region built on this server"),
        gettext_noop("road paths are drawn only from a road region built on this server"),
    ),
    (
        re.compile(r"the platform is set to straight lines"),
        gettext_noop("the platform is set to straight lines"),
    ),
    (
        re.compile(r"no road region is chosen in Settings \u2192 Roads"),
        gettext_noop("no road region is chosen in Settings → Roads"),
    ),
    (
        re.compile(
            r"road region (?P<name>\S+) \((?P<profile>[^()]*)\) cannot be read: (?P<error>.*)", re.S
        ),
        gettext_noop("road region %(name)s (%(profile)s) cannot be read: %(error)s"),
    ),
    (
        re.compile(
            r"road region (?P<name>\S+) \((?P<profile>[^()]*)\) is not built on this server"
        ),
        gettext_noop("road region %(name)s (%(profile)s) is not built on this server"),
    ),
)


@register.filter
def travel_words(text: str) -> str:
    """`text` (a travel source's label or reason, in English) in the active language; a
    map's legend, "label — why" (`routing.services.geometry.source_dict`), part by part."""
    text = str(text or "")
    if " \u2014 " in text:
        return " \u2014 ".join(travel_words(part) for part in text.split(" \u2014 ", 1))
    for pattern, words in _KNOWN:
        match = pattern.fullmatch(text)
        if match:
            values = match.groupdict()
            if "factor" in values:
                values["factor"] = number_format(Decimal(values["factor"]))  # 1,3 in French
            return gettext(words) % values
    return text
