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


def machine() -> str:
    """'<CPU model>, <n> cores': what a table was measured on."""
    import os
    import platform

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def git_head() -> str:
    """The short commit the tree is at ('+ changes' when it has uncommitted ones)."""
    import subprocess

    root = DOCS.parents[1]
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head} + changes" if dirty else head
