"""An import-linter contract of our own: imports between apps sit at the top of the module.

An import inside a function hides a dependency from a reader (and, before these contracts,
hid three import circles). One is allowed where a comment on its line, or on the line
above it, begins `# import here:` and says why (a heavy module only one path needs, say),
and in an `AppConfig.ready()`, which is where Django wires apps together at start-up.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

import grimp
from importlinter import Contract, ContractCheck, output

MARK = "# import here:"


@cache
def _function_level_imports(path: str) -> list[tuple[int, str, bool]]:
    """(line, imported module, explained) for every import inside a function of `path`."""
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    lines = source.splitlines()
    found: list[tuple[int, str, bool]] = []

    def explained(node: ast.stmt) -> bool:
        here = lines[node.lineno - 1]
        above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
        return MARK in here or above.startswith(MARK)

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            function = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if function and child.name == "ready" and isinstance(node, ast.ClassDef):
                continue  # AppConfig.ready: Django's place for start-up wiring
            inside = in_function or function
            if in_function and isinstance(child, ast.Import):
                for alias in child.names:
                    found.append((child.lineno, alias.name, explained(child)))
            elif in_function and isinstance(child, ast.ImportFrom) and child.level == 0:
                for alias in child.names:
                    found.append((child.lineno, f"{child.module}.{alias.name}", explained(child)))
                found.append((child.lineno, child.module or "", explained(child)))
            visit(child, inside)

    visit(ast.parse(source), False)
    return found


def _source(module: str) -> Path | None:
    """The file of `module`, found the way grimp found it (the Python path), unimported."""
    for entry in sys.path or ["."]:
        base = Path(entry or ".", *module.split("."))
        for path in (base / "__init__.py", base.with_suffix(".py")):
            if path.is_file():
                return path
    return None


class FunctionLevelImportsContract(Contract):
    type_name = "function_level"

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        roots = set(self.session_options["root_packages"])
        broken: list[tuple[str, int, str]] = []
        for module in sorted(graph.modules):
            app = module.split(".")[0]
            if app not in roots:
                continue
            path = _source(module)
            if path is None:
                raise FileNotFoundError(f"no source for {module} on the Python path")
            seen: set[int] = set()
            for line, imported, ok in _function_level_imports(str(path)):
                other = imported.split(".")[0]
                if ok or other == app or other not in roots or line in seen:
                    continue
                seen.add(line)
                broken.append((module, line, imported))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for module, line, imported in check.metadata["broken"]:
            output.print_error(f"{module}:{line} imports {imported} inside a function")
        output.new_line()
        output.print(f'Move the import to the top of the module, or say why with "{MARK} …".')
