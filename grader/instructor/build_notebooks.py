"""Build the exercise notebooks from the stubs: ``make notebooks``
(``python -m grader.instructor.build_notebooks``).

Per exercise, a notebook with the lesson in short (``notebooks/lessons/<id>.md``, else the
stub's docstring), the stub module split into one code cell per top-level definition, and a
last cell that checks the work. The notebook names its exercise in
``metadata["grader"]["exercise"]``; the checking cell is tagged ``grader-check``. Grading a
notebook goes the other way (``engine/notebook_source.py``).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Iterable, Sequence

import nbformat

from grader import registry
from grader.engine.notebook_source import CHECK_TAG, DEFINITIONS
from grader.paths import EXERCISES_DIR, LESSONS_DIR, NOTEBOOKS_DIR

CHECK_CELL = ("# Check your work: run this cell. It grades the code this notebook has run\n"
              "# (in a separate process, as `make grade` does) and shows the report here.\n"
              "from grader.notebook_check import check\n"
              "check({exercise!r})")
HOW_TO = ("**How to work.** Run the cells from the top. Fill in each function below (the "
          "docstring states its contract), run its cell, try it in a cell of your own, and run "
          "the last cell to grade this exercise. `grader watch` and `grader hint {exercise}` "
          "also work on this notebook's exercise from a terminal, on `exercises/{exercise}.py`.")
OUT_OF_DATE = "{path} is out of date with its stub: run `make notebooks`"


def split_definitions(source: str) -> list[str]:
    """The module's source cut before each top-level def/class (with its decorators and the
    comment lines right above it); blank lines at the cut are dropped."""
    lines = source.splitlines()
    starts = []
    for node in ast.parse(source).body:
        if isinstance(node, DEFINITIONS):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            while start > 0 and lines[start - 1].lstrip().startswith("#"):
                start -= 1
            starts.append(start)
    cells = []
    for lo, hi in zip([0] + starts, starts + [len(lines)]):
        text = "\n".join(lines[lo:hi]).strip("\n")
        if text.strip():
            cells.append(text)
    return cells


def lesson_text(info: registry.ExerciseInfo, module: Path, lessons: Path = LESSONS_DIR) -> str:
    """The lesson in short, ``<lessons>/<id>.md``; else the module's docstring (a stub and its
    solution share it) under the exercise's title."""
    path = lessons / f"{info.id}.md"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    doc = ast.get_docstring(ast.parse(module.read_text(encoding="utf-8"))) or ""
    return f"# {info.title}\n\n{doc}".strip()


def build_notebook(exercise: str, module: Path, *, lessons: Path = LESSONS_DIR) -> nbformat.NotebookNode:
    """The notebook of ``exercise`` with the code cells of ``module`` (a stub or a solution)."""
    info = registry.BY_ID[exercise]
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell(lesson_text(info, module, lessons)),
             v4.new_markdown_cell(HOW_TO.format(exercise=exercise))]
    cells += [v4.new_code_cell(text) for text in split_definitions(module.read_text(encoding="utf-8"))]
    cells.append(v4.new_markdown_cell("## Check your work"))
    check = v4.new_code_cell(CHECK_CELL.format(exercise=exercise))
    check.metadata["tags"] = [CHECK_TAG]
    cells.append(check)
    for i, cell in enumerate(cells):
        cell.id = f"{exercise.split('_')[0]}-{i:02d}"   # stable ids: rebuilding changes nothing
    nb = v4.new_notebook(cells=cells, metadata={
        "grader": {"exercise": exercise},
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(nb)
    return nb


def notebook_text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def exercises_with_stubs(stubs: Path = EXERCISES_DIR) -> list[str]:
    return [e.id for e in registry.EXERCISES if (stubs / e.filename).exists()]


def write_notebooks(directory: Path = NOTEBOOKS_DIR, *, source: Path | None = None,
                    exercises: Iterable[str] | None = None, lessons: Path = LESSONS_DIR) -> list[Path]:
    """Write ``<directory>/<id>.ipynb`` for each exercise, from ``source`` (default exercises/)."""
    source = source or EXERCISES_DIR
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for ex_id in exercises or exercises_with_stubs(source):
        path = directory / f"{ex_id}.ipynb"
        text = notebook_text(build_notebook(ex_id, source / f"{ex_id}.py", lessons=lessons))
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m grader.instructor.build_notebooks",
                                description="Build notebooks/<exercise>.ipynb from the stubs.")
    p.add_argument("--out", type=Path, default=NOTEBOOKS_DIR, help="folder for the notebooks")
    p.add_argument("--from", dest="source", type=Path, default=None,
                   help="take the code from this folder (default: exercises/)")
    p.add_argument("--check", action="store_true", help="only say whether they are up to date")
    args = p.parse_args(argv)
    if args.check:
        stale = stale_notebooks(args.out)
        for path in stale:
            print(OUT_OF_DATE.format(path=path), file=sys.stderr)
        return 1 if stale else 0
    for path in write_notebooks(args.out, source=args.source):
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


def stale_notebooks(directory: Path = NOTEBOOKS_DIR, *, stubs: Path = EXERCISES_DIR,
                    lessons: Path = LESSONS_DIR) -> list[Path]:
    """The notebooks under ``directory`` that ``make notebooks`` would change (or create)."""
    stale = []
    for ex_id in exercises_with_stubs(stubs):
        path = directory / f"{ex_id}.ipynb"
        want = notebook_text(build_notebook(ex_id, stubs / f"{ex_id}.py", lessons=lessons))
        if not path.exists() or path.read_text(encoding="utf-8") != want:
            stale.append(path)
    return stale


if __name__ == "__main__":
    raise SystemExit(main())
