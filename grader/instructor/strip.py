"""A suite without its hidden checks, for the student kit (``grader release``).

The hidden test functions are cut out of the suite's text (with their decorators and the
comment lines right above them), then every module-level name that only the removed code
used (a helper, an input constant, an import) goes too, and again, until nothing more goes.
What stays is the suite's own text, byte for byte: comments, formatting and the public
checks read and run as in the instructor's kit. A name that the remaining code still uses
is never removed, and ``undefined_names`` double-checks the result.

Which tests are hidden is read from the markers themselves (``visibility="hidden"`` must be
a literal there) with the course's overrides; ``grader release`` compares it with the
collected plan (``engine/plan.py``).
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from typing import Iterable

from grader.course import Course
from grader.results import Visibility

DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
SECTION_HEADER = re.compile(r"#\s*--")      # "# -- matmul ----": a section's title stays


class StripError(ValueError):
    """The suite cannot be stripped safely (the message says why)."""


@dataclass
class Stripped:
    text: str
    removed_tests: set[str] = field(default_factory=set)
    removed_names: set[str] = field(default_factory=set)   # helpers, constants, imports


def hidden_tests(source: str, exercise: str, course: Course) -> set[str]:
    """The test functions of a suite whose check is hidden (marker, then course override)."""
    hidden = set()
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        visibility = Visibility.PUBLIC
        for deco in node.decorator_list:
            if isinstance(deco, ast.Call) and ast.unparse(deco.func) == "pytest.mark.check":
                for kw in deco.keywords:
                    if kw.arg == "visibility":
                        if not isinstance(kw.value, ast.Constant):
                            raise StripError(f"{exercise}: {node.name}: write visibility= as a "
                                             f"literal string, so that a release can read it")
                        visibility = Visibility(kw.value.value)
        change = course.override(exercise, node.name.removeprefix("test_")).visibility
        if (change or visibility) is Visibility.HIDDEN:
            hidden.add(node.name)
    return hidden


def strip(source: str, hidden: Iterable[str]) -> Stripped:
    """``source`` without the test functions ``hidden`` and what only they used."""
    hidden = set(hidden)
    tree = ast.parse(source)
    body = tree.body
    found = {n.name for n in body if isinstance(n, ast.FunctionDef)}
    if hidden - found:
        raise StripError(f"no test function {', '.join(sorted(hidden - found))} in the suite")
    removed: set[int] = {i for i, n in enumerate(body) if isinstance(n, ast.FunctionDef) and n.name in hidden}
    dropped_aliases: set[tuple[int, str]] = set()        # (statement, bound name) of imports
    while True:
        used_by_removed = set().union(*(_loads(body[i]) for i in removed)) if removed else set()
        kept_uses = set()
        for i, node in enumerate(body):
            if i not in removed:
                kept_uses |= _loads(node) - (_defines(node) if isinstance(node, DEFINITIONS) else set())
        more = False
        for i, node in enumerate(body):
            if i in removed:
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in _defines(node):
                    if (i, name) not in dropped_aliases and name in used_by_removed \
                            and name not in kept_uses:
                        dropped_aliases.add((i, name))
                        more = True
                if {n for n in _defines(node)} <= {n for j, n in dropped_aliases if j == i}:
                    removed.add(i)
                continue
            names = _defines(node)
            if names and names <= used_by_removed and not names & kept_uses:
                removed.add(i)
                more = True
        if not more:
            break
    removed_names = {n for i in removed if not (isinstance(body[i], ast.FunctionDef)
                                                and body[i].name in hidden) for n in _defines(body[i])}
    removed_names |= {n for _, n in dropped_aliases}
    text = _cut(source, body, removed, dropped_aliases)
    problems = undefined_names(text)
    if problems:
        raise StripError(f"stripping left names without a definition: {', '.join(sorted(problems))}")
    return Stripped(text, hidden, removed_names)


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _defines(node: ast.AST) -> set[str]:
    if isinstance(node, DEFINITIONS):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _cut(source: str, body: list[ast.stmt], removed: set[int],
         dropped_aliases: set[tuple[int, str]]) -> str:
    lines = source.splitlines(keepends=True)
    replace: dict[int, tuple[int, str]] = {}      # first line -> (last line, new text)
    for i, node in enumerate(body):
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        last = node.end_lineno - 1
        if i in removed:
            while first > 0 and lines[first - 1].lstrip().startswith("#") \
                    and not SECTION_HEADER.match(lines[first - 1].lstrip()):
                first -= 1
            replace[first] = (last, "")
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and any(j == i for j, _ in dropped_aliases):
            gone = {n for j, n in dropped_aliases if j == i}
            node.names = [a for a in node.names if (a.asname or a.name).split(".")[0] not in gone]
            replace[first] = (last, _import_text(node))
    out, k = [], 0
    while k < len(lines):
        if k in replace:
            last, text = replace[k]
            out.append(text)
            k = last + 1
        else:
            out.append(lines[k])
            k += 1
    text = re.sub(r"\n{4,}", "\n\n\n", "".join(out))
    return text.rstrip("\n") + "\n"


def _import_text(node: ast.ImportFrom | ast.Import, width: int = 100) -> str:
    one = ast.unparse(node)
    if len(one) <= width or not isinstance(node, ast.ImportFrom):
        return one + "\n"
    head = f"from {'.' * node.level}{node.module or ''} import ("
    names = [ast.unparse(a) for a in node.names]
    rows, row = [], head
    for name in names:
        piece = name + ", "
        if len(row) + len(piece) > width:
            rows.append(row.rstrip())
            row = " " * len(head)
        row += piece
    rows.append(row.rstrip().rstrip(",") + ")")
    return "\n".join(rows) + "\n"


def undefined_names(source: str) -> set[str]:
    """Names read somewhere in ``source`` that nothing in it binds and that are no builtins (a
    scope-blind check: enough to see that stripping removed nothing still in use)."""
    tree = ast.parse(source)
    bound = set(dir(builtins)) | {"__file__", "__name__", "__doc__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound
