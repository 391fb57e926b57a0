"""A notebook turned into a module for grading (``extract_notebook``).

The code cells become one plain module, with the span of each cell in it; the worker imports
it cell by cell (``isolation/cells.py``), so a cell that raises is recorded (``cell 4:
NameError: ...``) and the cells around it still define their functions. IPython magics
(``%...``), shell lines (``!...``) and help lines (``x?``) are dropped; cells that only plot or
print are left out; the checking cell (tagged ``grader-check``, or naming
``grader.notebook_check``) is left out. The module is the cells' own code, unchanged, so the
static policy and the constraint scans read exactly what runs. The notebook names its exercise in
``metadata["grader"]["exercise"]`` (``instructor/build_notebooks.py`` writes it there).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from grader import registry, truncation
from grader.checks.policy.notebooks import droppable_cells, drop_magics
from grader.errors import LearnerError, SubmissionError

if TYPE_CHECKING:      # imported when a notebook is read: grading plain modules needs no nbformat
    import nbformat

CHECK_TAG = "grader-check"
CHECK_MARKER = "grader.notebook_check"      # a code cell naming this is a checking cell
CELL_MAGIC = "{label}: the cell magic {magic} is not Python; the cell was left out"
CELL_SYNTAX = "SyntaxError: {message} (line {line}); the cell was left out"
CELL_UNREADABLE = "{error}: the cell cannot be read; it was left out"
CELL_HEADER = "# -- cell {index} --"
NO_EXERCISE = ("{name}: cannot tell which exercise this notebook is (no metadata['grader']"
               "['exercise'], a file name that is not an exercise id, and no exercise's functions "
               "defined)")
NOT_A_NOTEBOOK = "{name} is not a readable notebook ({reason})"

_DEF_LINE = re.compile(r"^(?:async\s+def|def|class)\s+(\w+)", re.M)
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

@dataclass
class Cell:
    label: str      # how the learner finds it: "cell 4" (position) or "In [7]" (execution count)
    source: str


# -- grading a notebook -------------------------------------------------------------------------
def is_check_cell(cell: nbformat.NotebookNode) -> bool:
    return CHECK_TAG in cell.get("metadata", {}).get("tags", []) or CHECK_MARKER in cell.source


def read_notebook(path: Path) -> nbformat.NotebookNode:
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises JSON, validation and version errors alike
        raise _unreadable(Path(path).name, exc) from None


def parse_notebook(data: bytes, name: str) -> nbformat.NotebookNode:
    """A notebook from its bytes (as the intake read them, capped); ``name`` for messages."""
    import nbformat

    try:
        return nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:  # undecodable bytes, JSON, validation and version errors alike
        raise _unreadable(name, exc) from None


def _unreadable(name: str, exc: Exception) -> SubmissionError:
    reason = f"{type(exc).__name__}: {exc}"[:truncation.NOTEBOOK_ERROR_CHARS]
    return SubmissionError(NOT_A_NOTEBOOK.format(name=name, reason=reason))


def notebook_cells(nb: nbformat.NotebookNode) -> list[Cell]:
    """The code cells to grade, each labelled by its position among all cells (from 1), or by
    the label ``check()`` gave it (``In [7]``: the execution count the learner sees)."""
    cells = []
    for i, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code" or is_check_cell(cell):
            continue
        meta = cell.get("metadata", {}).get("grader", {})
        label = meta.get("label") if isinstance(meta, dict) else None
        cells.append(Cell(label[:truncation.CELL_LABEL_CHARS] if isinstance(label, str) else f"cell {i}",
                          cell.source))
    return cells


def notebook_exercise(nb: nbformat.NotebookNode, path: Path, cells: Sequence[Cell]) -> str | None:
    """The exercise from the metadata, else the file name, else the functions the cells define."""
    meta = nb.metadata.get("grader", {})
    named = meta.get("exercise") if isinstance(meta, dict) else None
    if named in registry.BY_ID:
        return named
    stem = Path(path).stem
    for info in registry.EXERCISES:
        if stem == info.id or stem.startswith(info.id):
            return info.id
    defined = set(_DEF_LINE.findall("\n".join(c.source for c in cells)))
    scores = [(len(defined & set(e.functions)), e.id) for e in registry.EXERCISES]
    best = max(scores)
    return best[1] if best[0] else None


def exercise_of(path: Path) -> str | None:
    """The exercise a notebook file is for (as ``extract_notebook`` decides it), or None when
    the file cannot be read or does not say: then the caller grades as it would anyway."""
    try:
        nb = read_notebook(path)
    except SubmissionError:
        return None
    return notebook_exercise(nb, path, notebook_cells(nb))


def extract_notebook(path: Path, dest: Path, *, exercise_ids: Sequence[str]) -> tuple[str, list[dict], list[str]]:
    """Write the notebook's code to ``dest/<exercise>.py``; return the exercise, the cells'
    spans for the worker (``isolation/cells.py``) and notes for the report."""
    nb = read_notebook(path)
    cells = notebook_cells(nb)
    exercise = notebook_exercise(nb, path, cells)
    if exercise is None:
        raise SubmissionError(NO_EXERCISE.format(name=Path(path).name))
    text, spans, notes = module_source(cells)
    (Path(dest) / f"{exercise}.py").write_text(text, encoding="utf-8")
    return exercise, spans, [f"{Path(path).name}, {note}" for note in notes]


def module_source(cells: Sequence[Cell]) -> tuple[str, list[dict], list[str]]:
    """The module for ``cells``, the span of each cell in it, and notes about cells left out.

    The module is the cells' code, one after the other, each under a comment the grader writes
    (``# -- cell 3 --``: a number, never the learner's text). Magics, shell and help lines are
    dropped; a cell that only shows things (plots, prints) and binds nothing a kept cell reads
    is left out (``policy.droppable_cells``); ``from __future__`` imports move to the top. A
    cell that does not parse gets a span with its error and no lines, so the worker records it
    like a cell that raised and stands in for the functions it would have defined.
    """
    notes: list[str] = []
    readable: list[tuple[Cell, str, ast.Module | None, str | None]] = []
    for cell in cells:
        text = cell.source.replace("\r\n", "\n").replace("\r", "\n")
        first = text.lstrip().split("\n", 1)[0]
        if first.startswith("%%"):
            notes.append(CELL_MAGIC.format(label=cell.label, magic=first.split()[0]))
            continue
        text = drop_magics(text)
        tree, error = None, None
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            error = CELL_SYNTAX.format(message=exc.msg, line=exc.lineno)
        except (ValueError, RecursionError, MemoryError) as exc:
            error = CELL_UNREADABLE.format(error=type(exc).__name__)
        readable.append((cell, text, tree, error))
    drop = iter(droppable_cells([text for _, text, tree, _ in readable if tree is not None]))
    future: list[str] = []
    body: list[str] = []
    spans: list[dict] = []
    for cell, text, tree, error in readable:
        if tree is None:
            spans.append({"label": cell.label, "start": 0, "end": 0,
                          "defines": _DEF_LINE.findall(text), "error": error})
            continue
        if next(drop):
            continue
        lines = text.split("\n")
        for stmt in tree.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                future.append(ast.unparse(stmt))
                for i in range(stmt.lineno - 1, stmt.end_lineno):
                    lines[i] = ""
        body.append(CELL_HEADER.format(index=len(spans) + 1))
        spans.append({"label": cell.label, "start": len(body) + 1, "end": len(body) + len(lines),
                      "defines": _defines(tree)})
        body += lines + [""]
    head = list(dict.fromkeys(future))
    for span in spans:
        if span["start"]:
            span["start"] += len(head)
            span["end"] += len(head)
    return "\n".join(head + body) + "\n", spans, notes[:truncation.CELL_NOTES]


def _defines(tree: ast.Module) -> list[str]:
    """The functions and classes a cell defines at its top level."""
    return [stmt.name for stmt in tree.body if isinstance(stmt, DEFINITIONS)]


def cell_errors(learner, modules: Iterable[str], *, notebook: str) -> list[str]:
    """The cells that failed when the worker imported the notebook's module(s), as the worker
    recorded them (``isolation/cells.py``): nothing the notebook defines can change this."""
    notes: list[str] = []
    for module in sorted(modules):
        try:
            got = learner.cell_errors(module)
        except LearnerError:
            continue
        notes += [f"{notebook}, {n[:truncation.CELL_NOTE_CHARS]}" for n in got][:truncation.CELL_NOTES]
    return notes
