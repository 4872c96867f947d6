"""The project's own source: which modules a module imports, followed transitively (static).

The retrain check hashes this closure (a family's code fingerprint); packaging reads the
third-party packages it reaches (a Bento's requirements). Imports inside functions count.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

from components.project import CODE_ROOT

PACKAGES = ("components", "serving")


@dataclass(frozen=True)
class Closure:
    """The project modules reached (name → file) and the top-level third-party names imported."""

    modules: dict[str, Path]
    external: frozenset[str]


def module_file(module: str) -> Path | None:
    """The source file of a project module, or None (a name imported from a module)."""
    base = CODE_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports(module: str, path: Path) -> tuple[set[str], set[str]]:
    """(project modules, top-level third-party names) that `path` imports, anywhere in it."""
    found: set[str] = set()
    external: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from a.b import c` may import the submodule a.b.c
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in PACKAGES:
                found.add(name)
            elif top not in sys.stdlib_module_names and top != "__future__":
                external.add(top)
    # importing a.b.c runs a/__init__.py and a/b/__init__.py too
    found.update(
        ".".join(name.split(".")[:i]) for name in set(found) for i in range(1, name.count(".") + 1)
    )
    return found - {module}, external


def closure(roots: tuple[str, ...]) -> Closure:
    """`roots` and every project module they import, transitively."""
    seen: dict[str, Path] = {}
    external: set[str] = set()
    todo = list(roots)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        path = module_file(module)
        if path is None:
            continue
        seen[module] = path
        internal, outside = imports(module, path)
        external |= outside
        todo.extend(internal - seen.keys())
    return Closure(seen, frozenset(external))
