"""The shipped languages' catalogs: extracting their messages (`make messages`) and checking
them (`make check-translations`, which `make test` runs).

    python -m core.translations extract     # update locale/*/LC_MESSAGES/*.po (the tree)
    python -m core.translations check       # fail, listing them, on what is not translated
    python -m core.translations check --all # every entry, not the first few of each list

The check extracts the messages of a temporary copy of the sources (the working tree is not
modified), merged into a copy of the committed .po files, as `make messages` would, and
fails when, for any shipped language and domain (django, djangojs):

- the committed .po file lacks a message the code has (someone forgot `make messages`);
- a message is untranslated, or fuzzy (msgmerge's guess, which nobody checked);
- `msgfmt --check-format` refuses the committed file (a placeholder lost or misspelt).

Extraction needs GNU gettext (xgettext, msgmerge, msgfmt; Debian package `gettext`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The shipped languages besides English, the source language (settings.LANGUAGES).
LOCALES = ("fr", "de", "es", "fi")
DOMAINS = ("django", "djangojs")
#: Not ours to translate, or not shipped: third-party, generated, tests and benchmarks.
IGNORED_DIRS = ("node_modules", "staticfiles", "media", "tests", "bench", "docs", "deploy")
#: Entries shown per list unless --all.
SHOWN = 15


def makemessages_command(domain: str) -> list[str]:
    """manage.py makemessages for `domain`, as `make messages` runs it: file names without
    line numbers (small diffs), no wrapping, obsolete entries dropped."""
    return [
        sys.executable,
        "manage.py",
        "makemessages",
        *(f"--locale={code}" for code in LOCALES),
        f"--domain={domain}",
        "--add-location=file",
        "--no-wrap",
        "--no-obsolete",
        *(f"--ignore={name}" for name in IGNORED_DIRS),
    ]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # settings that need no database, no secret and no server to import
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    env.setdefault("DEBUG", "1")
    return env


def _fix_headers(locale_dir: Path) -> None:
    """makemessages marks a new file's header fuzzy and leaves its Language empty; Babel
    (which `make translations` compiles with) skips a catalog whose header is fuzzy, and
    translators' tools want the language: neither is left so."""
    for po in locale_dir.glob("*/LC_MESSAGES/*.po"):
        code = po.parent.parent.name
        text = po.read_text(encoding="utf-8")
        head, sep, rest = text.partition('msgid ""\n')
        if not sep:
            continue
        fixed = head.replace("#, fuzzy\n", "") + sep
        fixed += rest.replace('"Language: \\n"', f'"Language: {code}\\n"', 1)
        if fixed != text:
            po.write_text(fixed, encoding="utf-8")


def extract(root: Path = ROOT) -> None:
    """Update root/locale/<lang>/LC_MESSAGES/{django,djangojs}.po from root's sources."""
    for code in LOCALES:
        (root / "locale" / code / "LC_MESSAGES").mkdir(parents=True, exist_ok=True)
    for domain in DOMAINS:
        subprocess.run(  # noqa: S603 - our interpreter, manage.py, fixed arguments
            makemessages_command(domain),
            cwd=root,
            env={**_environment(), "PYTHONPATH": str(root)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
    _fix_headers(root / "locale")


def _sources(root: Path) -> Iterable[str]:
    """The tree's files (tracked, and new ones not ignored), outside the ignored folders."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in listed.split("\0"):
        if name and not set(Path(name).parts) & set(IGNORED_DIRS) and (root / name).is_file():
            yield name


def _copy_tree(root: Path, target: Path) -> None:
    for name in _sources(root):
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, destination)


# --- the check ---------------------------------------------------------------------------


@dataclass
class Problems:
    lists: dict[str, list[str]] = field(default_factory=dict)

    def add(self, title: str, entries: list[str]) -> None:
        if entries:
            self.lists[title] = entries

    def report(self, *, shown: int | None) -> str:
        lines = []
        for title, entries in self.lists.items():
            lines.append(f"{title}: {len(entries)}")
            for entry in entries[:shown] if shown else entries:
                lines.append(f"    {entry}")
            if shown and len(entries) > shown:
                lines.append(f"    ... and {len(entries) - shown} more (--all lists them)")
        return "\n".join(lines)


def _catalog(path: Path):
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        return read_po(handle, abort_invalid=False)


def _key(message) -> tuple:
    return (message.context or "", message.id)


def _label(message) -> str:
    text = message.id[0] if isinstance(message.id, tuple) else message.id
    text = text.replace("\n", "\\n")
    if len(text) > 90:
        text = text[:87] + "..."
    context = f" [{message.context}]" if message.context else ""
    where = f"  ({message.locations[0][0]})" if message.locations else ""
    return f'"{text}"{context}{where}'


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return bool(strings) and all(strings)


def compare(committed_dir: Path, fresh_dir: Path) -> Problems:
    """What `fresh_dir` (the code's messages merged into the committed files) says is
    missing from, untranslated in or fuzzy in `committed_dir`'s files."""
    problems = Problems()
    for code in LOCALES:
        for domain in DOMAINS:
            name = f"{code}/LC_MESSAGES/{domain}.po"
            fresh_path, committed_path = fresh_dir / name, committed_dir / name
            if not fresh_path.exists():  # no message of this domain in the code
                continue
            fresh = [m for m in _catalog(fresh_path) if m.id]
            committed = (
                {_key(m) for m in _catalog(committed_path) if m.id}
                if committed_path.exists()
                else set()
            )
            missing = [m for m in fresh if _key(m) not in committed]
            known = [m for m in fresh if _key(m) in committed]
            problems.add(
                f"locale/{name}: messages of the code missing from the file (run `make messages`)",
                [_label(m) for m in missing],
            )
            problems.add(
                f"locale/{name}: untranslated",
                [_label(m) for m in known if not _translated(m)],
            )
            problems.add(
                f"locale/{name}: fuzzy (check the translation, then remove the fuzzy flag)",
                [_label(m) for m in known if m.fuzzy and _translated(m)],
            )
    return problems


def format_errors(committed_dir: Path) -> Problems:
    """`msgfmt --check-format` of each committed file: placeholders that do not match."""
    problems = Problems()
    for po in sorted(committed_dir.glob("*/LC_MESSAGES/*.po")):
        result = subprocess.run(  # noqa: S603 - our own .po files
            ["msgfmt", "--check-format", "--output-file=/dev/null", str(po)],  # noqa: S607
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            problems.add(
                f"locale/{po.relative_to(committed_dir)}: msgfmt --check-format",
                [line for line in result.stderr.splitlines() if line.strip()],
            )
    return problems


def check(root: Path = ROOT, *, shown: int | None = SHOWN) -> int:
    for tool in ("xgettext", "msgmerge", "msgfmt"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: GNU gettext is needed (Debian: apt-get install gettext)")
            return 2
    with tempfile.TemporaryDirectory(prefix="translations-check-") as temporary:
        copy = Path(temporary)
        _copy_tree(root, copy)
        extract(copy)
        problems = compare(root / "locale", copy / "locale")
    problems.lists.update(format_errors(root / "locale").lists)
    if not problems.lists:
        print(f"translations: complete for {', '.join(LOCALES)} ({', '.join(DOMAINS)})")
        return 0
    print(problems.report(shown=shown))
    print("translations: incomplete (above); `make messages` updates the .po files")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.translations")
    parser.add_argument("command", choices=["extract", "check"])
    parser.add_argument("--all", action="store_true", help="list every entry")
    args = parser.parse_args(argv)
    if args.command == "extract":
        extract()
        return 0
    return check(shown=None if args.all else SHOWN)


if __name__ == "__main__":
    sys.exit(main())
