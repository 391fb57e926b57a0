"""The grader's layers, as the README draws them, held by its imports (parsed, not run).

Each module belongs to one layer: its package (``grader/isolation/...`` is isolation), or
"base" for the top-level modules everyone shares. A layer may import only what is listed for
it, and no modules import each other in a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grader

PACKAGE = Path(grader.__file__).resolve().parent
LAYERS = ("isolation", "checks", "engine", "report", "practice", "instructor", "cli")
SHIMS = {"grader.notebook_check": "practice", "grader.__main__": "cli"}
ISOLATION_BASE = {"grader.settings", "grader.errors", "grader.paths", "grader.files", "grader.truncation",
                  "grader.allowlist"}
REPORT_BASE = {"grader", "grader.results", "grader.settings", "grader.files", "grader.truncation"}
ALLOWED = {   # layer -> the layers it may import ("base": every top-level module)
    "base": {"base"},
    "isolation": {"isolation"},           # and ISOLATION_BASE only
    "checks": {"base", "isolation", "checks"},
    "engine": {"base", "isolation", "checks", "engine"},
    "report": {"report"},                 # and REPORT_BASE only: it reads results
    "practice": {"base", "isolation", "checks", "engine", "report", "practice"},
    "instructor": {"base", "isolation", "engine", "report", "instructor"},
    "cli": {"base", *LAYERS},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    return SHIMS.get(module) or (parts[1] if len(parts) > 2 and parts[1] in LAYERS else
                                 parts[1] if len(parts) == 2 and parts[1] in LAYERS else "base")


def imports(path: Path, modules: set[str]) -> set[str]:
    """The grader modules ``path`` imports, lazily or not (``if TYPE_CHECKING:`` aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and ast.unparse(node.test) == "TYPE_CHECKING" for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                      for a in node.names}
    return {m for m in found if m in modules}


SOURCES = {module_name(p): p for p in PACKAGE.rglob("*.py") if "suites" not in p.parts}
GRAPH = {m: imports(p, set(SOURCES)) for m, p in SOURCES.items()}


def test_every_module_imports_only_the_layers_below_it():
    wrong = []
    for module, used in GRAPH.items():
        mine = layer(module)
        for other in used:
            theirs = layer(other)
            if mine == "isolation" and theirs == "base":
                ok = other in ISOLATION_BASE
            elif mine == "report" and theirs == "base":
                ok = other in REPORT_BASE
            else:
                ok = theirs in ALLOWED[mine]
            if not ok:
                wrong.append(f"{module} ({mine}) imports {other} ({theirs})")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycle():
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(module):] + (module,)))
        if module not in done:
            for other in sorted(GRAPH[module]):
                visit(other, path + (module,))
            done.add(module)

    for module in sorted(GRAPH):
        visit(module, ())


def test_the_layers_are_the_packages_the_readme_draws():
    assert {layer(m) for m in GRAPH} == {"base", *LAYERS}
    assert layer("grader.isolation.client") == "isolation" and layer("grader.settings") == "base"
