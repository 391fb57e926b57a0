"""The static policy and notebooks: the lines and cells left out before a notebook is graded.

A notebook becomes a plain module of its code cells (``engine/notebook_source``), which the
policy checks like any file. ``drop_magics`` turns IPython-only lines (``%time``, ``!ls``,
``len?``) into ``pass``. ``droppable_cells`` says which cells only show things (plots, prints,
timings) and bind nothing a kept cell uses: they are dropped before grading, so
``import matplotlib.pyplot as plt`` in a plotting cell does not refuse the whole notebook.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Sequence

_PLAIN = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Import, ast.ImportFrom, ast.For,
          ast.While, ast.If, ast.With, ast.Try, ast.Pass, ast.Break, ast.Continue, ast.Assert,
          ast.Raise, ast.Match) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())


_MAGIC = re.compile(r"^(\s*)(%|!|[\w.\[\]()]+\s*=\s*!)")
_HELP = re.compile(r"^\s*[?]{0,2}[\w.]+[?]{1,2}\s*$")
MAGIC_LEFT_OUT = "pass  # IPython-only line left out"


def drop_magics(text: str) -> str:
    """A cell's text with each magic, shell or help line replaced by ``pass`` at its indentation
    (so blocks stay valid); valid Python (``y = (10\n % 4)``) is left alone."""
    try:
        ast.parse(text)
        return text
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    out = []
    for line in text.split("\n"):
        if _MAGIC.match(line) or _HELP.match(line):
            line = re.match(r"\s*", line).group(0) + MAGIC_LEFT_OUT
        out.append(line)
    return "\n".join(out)


# -- cells that can be left out ----------------------------------------------------------------
@dataclass
class _Cell:
    plain: bool          # only statements that show or compute, no def/class/global/__future__
    binds: set[str]      # every name it binds
    loads: set[str]      # every name it reads (in functions too)
    changes: set[str]    # names whose attributes or items it assigns
    calls: set[str]      # names whose methods it calls (`weights.append(2)` changes weights)
    imports: set[str]    # the names it binds by importing (calling a module's function changes nothing)


def droppable_cells(sources: Sequence[str]) -> list[bool]:
    """For each code cell, whether it can be left out of the graded module: it defines no
    function or class, and binds (or changes the contents of) no name that a kept cell reads.
    Such a cell only shows things (``plt.plot(...)``, ``print(...)``, ``%timeit f(x)``), so
    grading without it changes nothing the graded functions see."""
    cells = [_read_cell(s) for s in sources]
    drop = [c is not None and c.plain for c in cells]
    while True:
        kept = [c for c, d in zip(cells, drop) if c is not None and not d]
        needed = set().union(*(c.loads for c in kept))
        kept_binds = set().union(*(c.binds for c in kept))
        kept_values = kept_binds - set().union(*(c.imports for c in kept))
        changed = False
        for i, c in enumerate(cells):
            if drop[i] and (c.binds & needed or c.changes & (kept_binds | needed) or c.calls & kept_values):
                drop[i], changed = False, True
        if not changed:
            return drop


def droppable_cell(source: str, needed: Sequence[str] = ()) -> bool:
    """One cell: droppable when it only shows things and binds none of ``needed``."""
    cell = _read_cell(source)
    return cell is not None and cell.plain and not (cell.binds | cell.changes | cell.calls) & set(needed)


def _read_cell(source: str) -> _Cell | None:
    """What a cell binds and reads; None when it does not parse (the extractor leaves it out)."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    if text.lstrip().startswith("%%"):
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        try:
            tree = ast.parse(drop_magics(text))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    except (ValueError, RecursionError, MemoryError):
        return None
    plain, binds, loads, changes, calls, imports = True, set(), set(), set(), set(), set()
    try:
        statements = list(tree.body)
        while statements:
            stmt = statements.pop()
            if not isinstance(stmt, _PLAIN) or (isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"):
                plain = False
            for child in ("body", "orelse", "finalbody"):
                statements.extend(getattr(stmt, child, []))
            statements.extend(s for h in getattr(stmt, "handlers", []) for s in h.body)
            statements.extend(s for c in getattr(stmt, "cases", []) for s in c.body)
        loads = _free_loads(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                if not isinstance(node.ctx, ast.Load):
                    binds.add(node.id)
            elif isinstance(node, ast.alias):
                binds.add((node.asname or node.name).split(".")[0])
                imports.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
                binds.add(node.name)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                plain = False
            mutating = isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)) and \
                isinstance(node, (ast.Attribute, ast.Subscript))
            if mutating or isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                root = node.func.value if isinstance(node, ast.Call) else node
                while isinstance(root, (ast.Attribute, ast.Subscript)):
                    root = root.value
                if isinstance(root, ast.Name):
                    (changes if mutating else calls).add(root.id)
                elif mutating:
                    plain = False
    except RecursionError:
        return None
    return _Cell(plain, binds, loads, changes, calls, imports)


def _free_loads(tree: ast.AST) -> set[str]:
    """The names a cell reads from the module: loads outside functions, and loads inside a
    function of names it neither takes as a parameter nor assigns (unless declared global)."""
    loads: set[str] = set()
    stack = [(tree, frozenset())]
    while stack:
        node, local = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs
                      + [a for a in (args.vararg, args.kwarg) if a is not None]}
            inner = list(node.body) if isinstance(node.body, list) else [node.body]
            declared = {n for s in inner for g in ast.walk(s) if isinstance(g, ast.Global) for n in g.names}
            stored = {n.id for s in inner for n in ast.walk(s)
                      if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
            body_local = local | params | (stored - declared)
            # Decorators, defaults and annotations run when the function is defined.
            annotations = [a.annotation for a in args.posonlyargs + args.args + args.kwonlyargs
                           + [a for a in (args.vararg, args.kwarg) if a is not None]
                           if a.annotation is not None] + [getattr(node, "returns", None)]
            outer = [d for d in getattr(node, "decorator_list", [])] + args.defaults \
                + [d for d in args.kw_defaults if d is not None] + [a for a in annotations if a is not None]
            stack += [(child, local) for child in outer] + [(child, body_local) for child in inner]
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id not in local:
                loads.add(node.id)
        else:
            stack += [(child, local) for child in ast.iter_child_nodes(node)]
    return loads
