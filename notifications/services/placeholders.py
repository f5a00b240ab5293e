"""The language of customer message templates, written by shop owners (issue 26).

- `{name}` is a placeholder from `PLACEHOLDERS`: the order's value, e.g. `{customer_name}`.
- `[...]` is an optional part: it is left out when any placeholder inside it is empty, so
  "on its way[, expected {eta_window}]" needs no condition.
- `[A|B]` gives a fallback: the first alternative whose placeholders are all filled is
  used ("[{driver_name}|your driver]"); an alternative without placeholders is always
  filled, so it can only come last. Optional parts do not nest.
- A backslash writes the next character as it is: `\\{`, `\\}`, `\\[`, `\\]`, `\\|`, `\\\\`.

A template is parsed once into text, placeholders and optional parts (cached); any
mistake is a `TemplateError` listing every problem in the owner's words, with the
closest known name for a misspelt placeholder and the new way of writing for Django's
`{{ x }}` and `{% if %}` (the syntax before issue 26).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

#: Every placeholder a template may use (the names are never translated).
PLACEHOLDERS = (
    "business",
    "customer_name",
    "order",
    "date",
    "window",
    "eta",
    "eta_window",
    "tracking_link",
    "driver_name",
    "stops_before",
    "reason",
    "recipient",
)

#: The names of the Django-syntax context (before issue 26) that were renamed.
OLD_NAMES = {"customer": "customer_name", "link": "tracking_link", "driver": "driver_name"}

_ESCAPABLE = "\\{}[]|"

#: At most this many problems are listed (a pasted text may repeat one mistake thousands
#: of times); the rest are counted.
MAX_PROBLEMS = 10

#: Longer sources are parsed every time rather than kept in the cache: the live preview
#: parses whatever is typed, and a thousand pasted megabytes must not stay in memory.
_CACHED_UP_TO = 4000


class TemplateError(ValueError):
    """A template the owner must correct; `problems` are the sentences to show."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Placeholder:
    name: str


@dataclass(frozen=True)
class Optional:
    alternatives: tuple[tuple[str | Placeholder, ...], ...]


Node = str | Placeholder | Optional


def _snippet(source: str, start: int, width: int = 24) -> str:
    text = source[start : start + width].split("\n")[0]
    return text + ("…" if len(source) > start + len(text) else "")


def _unknown(name: str) -> str:
    guess = OLD_NAMES.get(name.strip())
    if guess is None:
        close = difflib.get_close_matches(name.strip().lower(), PLACEHOLDERS, n=1, cutoff=0.6)
        guess = close[0] if close else None
    if guess:
        return _("{%(name)s} is not a placeholder; did you mean {%(guess)s}?") % {
            "name": name,
            "guess": guess,
        }
    return _("{%(name)s} is not a placeholder; the placeholders are listed under the field.") % {
        "name": name
    }


def _django(source: str, at: int) -> str:
    """What to write now instead of the Django syntax found at `at`."""
    if source.startswith("{{", at):
        end = source.find("}}", at)
        inner = source[at + 2 : end].strip() if end != -1 else ""
        name = OLD_NAMES.get(inner, inner)
        if name in PLACEHOLDERS:
            return _(
                "“%(old)s” is the old way of writing a placeholder: write {%(name)s} "
                "(single braces)."
            ) % {"old": source[at : end + 2], "name": name}
        return _(
            "“{{ … }}” is the old way of writing a placeholder: write a name from the list "
            "in single braces, e.g. {customer_name}."
        )
    if source.startswith("{#", at):
        return _("“{# … #}” comments are not part of a message: remove them.")
    return (
        _(
            "“{%% … %%}” is the old syntax and is not written any more: instead of a "
            "condition, put the words that need a value in square brackets, e.g. "
            "[, expected {eta_window}], and they are left out when that value is empty; "
            "[{driver_name}|your driver] gives a fallback."
        )
        % {}
    )


def parse(source: str) -> tuple[Node, ...]:
    """`source` as text, placeholders and optional parts; a `TemplateError` says every
    problem found, each once and at most `MAX_PROBLEMS` of them (after the first one
    about structure, the rest may not be reliable, so structure problems stop the
    reading)."""
    if len(source) > _CACHED_UP_TO:
        return _parse(source)
    return _parse_cached(source)


def _problems_said(problems: list[str]) -> list[str]:
    unique = list(dict.fromkeys(problems))
    if len(unique) <= MAX_PROBLEMS:
        return unique
    more = len(unique) - MAX_PROBLEMS + 1
    return [
        *unique[: MAX_PROBLEMS - 1],
        ngettext("…and %(count)s more problem.", "…and %(count)s more problems.", more)
        % {"count": more},
    ]


@lru_cache(maxsize=1024)
def _parse_cached(source: str) -> tuple[Node, ...]:
    return _parse(source)


def _parse(source: str) -> tuple[Node, ...]:
    problems: list[str] = []
    unknown: set[str] = set()
    nodes: list[Node] = []
    alternatives: list[list[Node]] | None = None  # inside [ ... ]
    opened_at = 0
    buffer: list[str] = []

    def target() -> list[Node]:
        return alternatives[-1] if alternatives is not None else nodes

    def flush() -> None:
        if buffer:
            target().append("".join(buffer))
            buffer.clear()

    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "\\" and i + 1 < n and source[i + 1] in _ESCAPABLE:
            buffer.append(source[i + 1])
            i += 2
            continue
        if c == "{":
            if i + 1 < n and source[i + 1] in "{%#":
                problems.append(_django(source, i))
                break
            end = source.find("}", i + 1)
            inner = source[i + 1 : end] if end != -1 else ""
            if end == -1 or any(ch in inner for ch in "{[]|\n"):
                problems.append(
                    _(
                        "The brace in “%(text)s” is not closed: write {placeholder}, or \\{ "
                        "for a brace itself."
                    )
                    % {"text": _snippet(source, i)}
                )
                break
            name = inner.strip()
            if not name:
                problems.append(
                    _("Empty braces {}: put a placeholder's name inside, or write \\{\\}.")
                )
            elif name not in PLACEHOLDERS:
                unknown.add(name)
                # the closest name is looked for only while it can still be shown
                # (`_problems_said`); beyond that a name only counts
                said = len(unknown) <= MAX_PROBLEMS
                problems.append(_unknown(name) if said else f"\0{name}")
            flush()
            target().append(Placeholder(name))
            i = end + 1
            continue
        if c == "}":
            problems.append(
                _("A } without its {: write \\} for a brace itself (near “%(text)s”).")
                % {"text": _snippet(source, max(0, i - 12))}
            )
            break
        if c == "[":
            if alternatives is not None:
                problems.append(
                    _(
                        "Optional parts in square brackets cannot be nested (near “%(text)s”); "
                        "write \\[ for a bracket itself."
                    )
                    % {"text": _snippet(source, i)}
                )
                break
            flush()
            alternatives, opened_at = [[]], i
            i += 1
            continue
        if c == "|" and alternatives is not None:
            flush()
            alternatives.append([])
            i += 1
            continue
        if c == "]":
            if alternatives is None:
                problems.append(
                    _("A ] without its [: write \\] for a bracket itself (near “%(text)s”).")
                    % {"text": _snippet(source, max(0, i - 12))}
                )
                break
            flush()
            problem = _check_optional(alternatives, source[opened_at : i + 1])
            if problem:
                problems.append(problem)
            nodes.append(Optional(tuple(tuple(a) for a in alternatives)))
            alternatives = None
            i += 1
            continue
        buffer.append(c)
        i += 1
    else:
        if alternatives is not None:
            problems.append(
                _(
                    "The square bracket in “%(text)s” is not closed: close the optional part "
                    "with ], or write \\[ for a bracket itself."
                )
                % {"text": _snippet(source, opened_at)}
            )
    if problems:
        raise TemplateError(_problems_said(problems))
    flush()
    return tuple(nodes)


def _check_optional(alternatives: list[list[Node]], text: str) -> str:
    """An optional part is left out by its placeholders; one without any would always be
    shown (most likely the owner meant brackets themselves)."""
    for index, alternative in enumerate(alternatives):
        has_placeholder = any(isinstance(node, Placeholder) for node in alternative)
        last = index == len(alternatives) - 1
        if not has_placeholder and (not last or len(alternatives) == 1):
            return _(
                "“%(text)s” has a part without a placeholder, so it would always be shown: an "
                "optional part is left out when a placeholder in it is empty (only the last "
                "alternative after | may be plain text). Write \\[ and \\] for brackets "
                "themselves."
            ) % {"text": text}
    return ""


def placeholders_in(source: str) -> set[str]:
    """The placeholder names `source` uses (it must parse)."""
    names = set()
    for node in parse(str(source)):
        if isinstance(node, Placeholder):
            names.add(node.name)
        elif isinstance(node, Optional):
            for alternative in node.alternatives:
                names |= {n.name for n in alternative if isinstance(n, Placeholder)}
    return names


def _filled(alternative: tuple[str | Placeholder, ...], values: dict[str, str]) -> bool:
    return all(
        str(values.get(node.name) or "").strip()
        for node in alternative
        if isinstance(node, Placeholder)
    )


def _join(parts, values: dict[str, str]) -> str:
    return "".join(
        part if isinstance(part, str) else str(values.get(part.name) or "") for part in parts
    )


def fill(source: str, values: dict[str, str]) -> str:
    """`source` with its placeholders replaced by `values` (raw: no whitespace tidying)."""
    out = []
    for node in parse(source):
        if isinstance(node, Optional):
            chosen = next((a for a in node.alternatives if _filled(a, values)), ())
            out.append(_join(chosen, values))
        else:
            out.append(_join((node,), values))
    return "".join(out)


_SPACES = re.compile(r"[ \t]+")


def tidy(text: str, *, one_line: bool) -> str:
    """An SMS on one line; an email keeps its lines (each without doubled spaces)."""
    if one_line:
        return " ".join(text.split())
    lines = [_SPACES.sub(" ", line).strip() for line in text.strip().splitlines()]
    return "\n".join(lines)
