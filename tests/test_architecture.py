"""The architecture, checked (docs/architecture.md): the import-linter contracts in
pyproject.toml hold, each one catches a wrong import in a small fixture, and every app
keeps to one skeleton of module names."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
APPS = [p for p in CONFIG["root_packages"] if p not in ("config", "core")]
CONTRACTS = {c["id"]: c["name"] for c in CONFIG["contracts"]}


def lint(cwd: Path, config: Path) -> tuple[int, dict[str, str]]:
    """Run lint-imports; returns its exit code and each contract's verdict by name."""
    result = subprocess.run(
        [str(LINT), "--config", str(config), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{cwd}:{ROOT}"},
    )
    verdicts = dict(re.findall(r"^(.+?) (KEPT|BROKEN)", result.stdout, flags=re.M))
    assert verdicts, result.stdout + result.stderr
    return result.returncode, verdicts


def test_the_contracts_hold():
    code, verdicts = lint(ROOT, ROOT / "pyproject.toml")
    assert set(verdicts) == set(CONTRACTS.values())
    assert code == 0 and set(verdicts.values()) == {"KEPT"}, verdicts


# --- each contract catches what it is for ------------------------------------------------

#: A clean miniature of the project: every root package, the optimiser, a few modules.
CLEAN = {
    **{f"{name}/__init__.py": "" for name in CONFIG["root_packages"]},
    "routing/models.py": "import dispatch.models\n",
    **{f"routing/{name}.py": "" for name in ("services", "selectors", "tasks", "api", "views")},
    "routing/optimiser/__init__.py": "",
    "routing/optimiser/solver.py": "import math\n",
    **{f"geo/{name}.py": "" for name in ("engine", "models", "services", "selectors")},
    "dispatch/models.py": "import tenants.models\n",
    "tenants/models.py": "",
    "tracking/selectors.py": "import routing.models\n",
    "tracking/services.py": "import tracking.selectors\n",
    "notifications/services.py": "import tracking.selectors\n\n\ndef f():\n    return 1\n",
}

#: One wrong import per contract: (contract id, file, text).
WRONG = {
    "the road engine imports Django": ("engine", "geo/engine.py", "import django.conf\n"),
    "planning imports the day": ("layers", "routing/models.py", "import tracking.selectors\n"),
    "the optimiser imports Django": (
        "optimiser",
        "routing/optimiser/solver.py",
        "import django.db\n",
    ),
    "an import between apps hidden in a function": (
        "function-level",
        "notifications/services.py",
        "def f():\n    from tracking import selectors\n\n    return selectors\n",
    ),
    "a circle inside an app": (
        "acyclic",
        "tracking/selectors.py",
        "import routing.models\nimport tracking.services\n",
    ),
}


def _miniature(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_miniature_is_clean(tmp_path):
    code, verdicts = lint(_miniature(tmp_path, CLEAN), tmp_path / "pyproject.toml")
    assert code == 0 and set(verdicts.values()) == {"KEPT"}, verdicts


@pytest.mark.parametrize("case", WRONG)
def test_a_wrong_import_breaks_its_contract(tmp_path, case):
    contract, name, text = WRONG[case]
    code, verdicts = lint(_miniature(tmp_path, {**CLEAN, name: text}), tmp_path / "pyproject.toml")
    assert code != 0
    assert verdicts[CONTRACTS[contract]] == "BROKEN"
    others = {k: v for k, v in verdicts.items() if k != CONTRACTS[contract]}
    assert set(others.values()) == {"KEPT"}, others


def test_a_function_level_import_with_its_reason_is_allowed(tmp_path):
    reasoned = (
        "def f():\n    # import here: only this rare path needs it\n"
        "    from tracking import selectors\n"
    )
    files = {**CLEAN, "notifications/services.py": reasoned}
    code, verdicts = lint(_miniature(tmp_path, files), tmp_path / "pyproject.toml")
    assert code == 0, verdicts


# --- one skeleton for every app ------------------------------------------------------------

#: The names an app's top level may use: the skeleton, and the modules Django, DRF and
#: Channels look for by name.
SKELETON = {
    "__init__",
    "apps",
    "models",
    "services",
    "selectors",
    "tasks",
    "receivers",
    "signals",
    "api",
    "views",
    "urls",
    "forms",
    "admin",
    "consumers",
    "templatetags",
    "management",
    "migrations",
    "templates",
    "static",
    "middleware",
    "authentication",
    "permissions",
    "throttling",
    "decorators",
}
#: Inside `api/`: the skeleton, and drf-spectacular's extensions (schema).
API = {"__init__", "serializers", "views", "urls", "schema"}
#: What one app has besides: the optimiser, a package of its own; the road engine, a module
#: of its own (both import no Django, by contract).
EXTRA = {"routing": {"optimiser"}, "geo": {"engine"}}


def _names(folder: Path) -> set[str]:
    return {
        p.stem if p.suffix == ".py" else p.name
        for p in folder.iterdir()
        if (p.suffix == ".py" or p.is_dir()) and p.name != "__pycache__"
    }


@pytest.mark.parametrize("app", APPS)
def test_every_app_keeps_to_the_skeleton(app):
    folder = ROOT / app
    outside = _names(folder) - SKELETON - EXTRA.get(app, set())
    assert not outside, f"{app}: {sorted(outside)} are not in the app skeleton"
    if (folder / "api").is_dir():
        outside = _names(folder / "api") - API
        assert not outside, f"{app}/api: {sorted(outside)} are not in the API skeleton"


def test_the_skeleton_check_rejects_a_stray_module(tmp_path):
    (tmp_path / "models.py").write_text("")
    (tmp_path / "helpers.py").write_text("")
    assert _names(tmp_path) - SKELETON == {"helpers"}


# --- circles, counted over every import (function-level ones too) ---------------------------


def _circles() -> list[set[str]]:
    """Strongly connected groups of modules (Tarjan), over grimp's graph of the tree."""
    import grimp

    graph = grimp.build_graph(*CONFIG["root_packages"])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = set()
            while True:
                other = stack.pop()
                on_stack.discard(other)
                group.add(other)
                if other == module:
                    break
            if len(group) > 1:
                groups.append(group)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_the_only_circles_are_a_service_and_its_apps_jobs(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    for group in _circles():
        apps = {module.split(".")[0] for module in group}
        assert len(apps) == 1, f"a circle between apps: {sorted(group)}"
        app = apps.pop()
        assert f"{app}.tasks" in group, f"a circle inside {app}: {sorted(group)}"
        stray = {m for m in group if m != f"{app}.tasks" and not m.startswith(f"{app}.services")}
        assert not stray, f"{sorted(stray)} go round with {app}'s jobs"
