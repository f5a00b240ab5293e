"""Each benchmark's table lives in docs/benchmarks.md between its own markers
(`<!-- name:begin -->` … `<!-- name:end -->`); a run replaces its block and nothing else."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(name: str, lines: list[str], *, intro: str) -> None:
    """Put `lines` between `name`'s markers, or append them under `intro` the first time."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = "\n".join([begin, *lines, end])
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + intro + block + "\n"
    DOCS.write_text(text)
    print(f"written to {DOCS.relative_to(DOCS.parents[1])}")
