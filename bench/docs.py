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


def cpu_model() -> str:
    """The CPU's model name (what a table was measured on)."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """'<CPU model>, <n> cores'."""
    import os

    return f"{cpu_model()}, {os.cpu_count()} cores"


def git_head() -> str:
    """The short commit the tree is at ('+ changes' when it has uncommitted ones;
    'unknown' outside a git checkout)."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=DOCS.parents[1], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} + changes" if dirty else head
