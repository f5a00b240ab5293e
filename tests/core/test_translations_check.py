"""The translations' check (core/translations.py, `make check-translations`): what it
counts as missing, untranslated, fuzzy or badly formatted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core import translations

HEADER = (
    'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
    '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
)


def _write(root: Path, code: str, domain: str, body: str) -> None:
    path = root / code / "LC_MESSAGES" / f"{domain}.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + body, encoding="utf-8")


def _everywhere(root: Path, body: str) -> None:
    for code in translations.LOCALES:
        _write(root, code, "django", body)


DONE = 'msgid "Orders"\nmsgstr "Tilaukset"\n\nmsgctxt "navigation"\nmsgid "Main"\nmsgstr "P"\n'


def test_a_complete_catalog_passes(tmp_path):
    _everywhere(tmp_path / "committed", DONE)
    _everywhere(tmp_path / "fresh", DONE)
    assert translations.compare(tmp_path / "committed", tmp_path / "fresh").lists == {}


def test_missing_untranslated_and_fuzzy_messages_are_each_listed(tmp_path):
    _everywhere(tmp_path / "committed", DONE + 'msgid "Team"\nmsgstr ""\n')
    fresh = (
        DONE
        + 'msgid "Team"\nmsgstr ""\n\n'
        + '#, fuzzy\nmsgid "Drivers"\nmsgstr "Kuljettajat"\n\n'  # not in the committed file
        + 'msgid "Sign out"\nmsgstr ""\n'
    )
    _everywhere(tmp_path / "fresh", fresh)
    _write(tmp_path / "committed", "fi", "django", DONE + '#, fuzzy\nmsgid "Team"\nmsgstr "T"\n')
    _write(tmp_path / "fresh", "fi", "django", DONE + '#, fuzzy\nmsgid "Team"\nmsgstr "T"\n')
    problems = translations.compare(tmp_path / "committed", tmp_path / "fresh").lists
    missing = problems[
        "locale/fr/LC_MESSAGES/django.po: messages of the code missing from "
        "the file (run `make messages`)"
    ]
    assert [m.split("  ")[0] for m in missing] == ['"Drivers"', '"Sign out"']
    assert problems["locale/fr/LC_MESSAGES/django.po: untranslated"] == ['"Team"']
    fuzzy = (
        "locale/fi/LC_MESSAGES/django.po: fuzzy (check the translation, then remove the fuzzy flag)"
    )
    assert problems[fuzzy] == ['"Team"']
    report = translations.Problems(problems).report(shown=1)
    assert "... and 1 more" in report


def test_a_context_makes_a_different_message(tmp_path):
    _everywhere(tmp_path / "committed", 'msgid "Main"\nmsgstr "P"\n')
    _everywhere(tmp_path / "fresh", 'msgctxt "navigation"\nmsgid "Main"\nmsgstr ""\n')
    problems = translations.compare(tmp_path / "committed", tmp_path / "fresh").lists
    assert any("missing" in title for title in problems)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext is not installed")
def test_a_placeholder_lost_in_translation_is_a_format_error(tmp_path):
    _write(
        tmp_path,
        "de",
        "django",
        '#, python-format\nmsgid "Order %(ref)s is late"\nmsgstr "Auftrag %(ref) ist spät"\n',
    )
    _write(tmp_path, "fr", "django", DONE)
    problems = translations.format_errors(tmp_path).lists
    assert list(problems) == ["locale/de/LC_MESSAGES/django.po: msgfmt --check-format"]


def test_extraction_marks_no_header_fuzzy_and_names_the_language(tmp_path):
    path = tmp_path / "fi" / "LC_MESSAGES" / "django.po"
    path.parent.mkdir(parents=True)
    path.write_text('#, fuzzy\nmsgid ""\nmsgstr ""\n"Language: \\n"\n', encoding="utf-8")
    translations._fix_headers(tmp_path)
    assert path.read_text(encoding="utf-8") == 'msgid ""\nmsgstr ""\n"Language: fi\\n"\n'
