"""Build the exercise notebooks from the stubs: ``make notebooks``
(``python -m grader.instructor.build_notebooks``).

Per exercise, a notebook with the lesson in short (``notebooks/lessons/<id>.md``, else the
stub's docstring), the stub module split into one code cell per top-level definition, and a
last cell that checks the work. The notebook names its exercise in
``metadata["grader"]["exercise"]``; the checking cell is tagged ``grader-check``. Grading a
notebook goes the other way (``engine/notebook_source.py``).

A learner's work is never overwritten, in two ways:

- A notebook is built from the *stub*, never from a learner's module: ``exercises/<id>.py``
  is used only while it still is a stub (every function raises ``NotImplementedError``);
  once a learner has filled it in, the stub committed last in git is used instead, and
  without one the notebook is left alone.
- A notebook records a digest of the cells it was generated with
  (``metadata["grader"]["generated"]``). One whose cells have changed since (a learner's
  edits) is kept as it is and said so; ``--force`` (``make notebooks FORCE=1``) rebuilds it
  after copying it beside itself (``<id>.edited-<time>.ipynb``).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import nbformat

from grader import registry
from grader.engine.notebook_source import CHECK_TAG, DEFINITIONS
from grader.paths import EXERCISES_DIR, KIT_ROOT, LESSONS_DIR, NOTEBOOKS_DIR

CHECK_CELL = ("# Check your work: run this cell. It grades the code this notebook has run\n"
              "# (in a separate process, as `make grade` does) and shows the report here.\n"
              "from grader.notebook_check import check\n"
              "check({exercise!r})")
HOW_TO = ("**How to work.** Run the cells from the top. Fill in each function below (the "
          "docstring states its contract), run its cell, try it in a cell of your own, and run "
          "the last cell to grade this exercise. From a terminal in the kit's folder, "
          "`make hint EX={exercise}` gives a hint for the first check that does not pass, and "
          "`make watch EX={exercise}` grades this notebook every time you save it.")
OUT_OF_DATE = "{path} is out of date with its stub: run `make notebooks`"
WROTE = "wrote {path}"
UP_TO_DATE = "{path} is up to date"
KEPT_EDITED = ("kept {path} as it is: its cells differ from what was generated (your edits?). "
               "To rebuild it anyway, run `make notebooks FORCE=1`: it first copies yours to "
               "{backup_pattern}")
BACKED_UP = "copied your {path} to {backup} before rebuilding it"
NO_STUB = ("kept {path} as it is: {module} holds your work, not the stub, and git has no "
           "committed stub to build from (a notebook is built from the stub only)")
FROM_GIT = "{module} holds your work: built {path} from the stub committed in git ({commit})"
GENERATED = "generated"     # metadata["grader"][GENERATED]: the digest of the generated cells


@dataclass
class Outcome:
    """What a build did: the notebooks written, those kept (with why), the backups made."""

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.kept


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


def lesson_text(info: registry.ExerciseInfo, module: Path | str, lessons: Path = LESSONS_DIR) -> str:
    """The lesson in short, ``<lessons>/<id>.md``; else the module's docstring (a stub and its
    solution share it) under the exercise's title."""
    path = lessons / f"{info.id}.md"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    doc = ast.get_docstring(ast.parse(_text(module))) or ""
    return f"# {info.title}\n\n{doc}".strip()


def _text(module: Path | str) -> str:
    return module.read_text(encoding="utf-8") if isinstance(module, Path) else module


def build_notebook(exercise: str, module: Path | str, *,
                   lessons: Path = LESSONS_DIR) -> nbformat.NotebookNode:
    """The notebook of ``exercise`` with the code cells of ``module`` (a stub or a solution,
    as a path or as its text)."""
    info = registry.BY_ID[exercise]
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell(lesson_text(info, module, lessons)),
             v4.new_markdown_cell(HOW_TO.format(exercise=exercise))]
    cells += [v4.new_code_cell(text) for text in split_definitions(_text(module))]
    cells.append(v4.new_markdown_cell("## Check your work"))
    check = v4.new_code_cell(CHECK_CELL.format(exercise=exercise))
    check.metadata["tags"] = [CHECK_TAG]
    cells.append(check)
    for i, cell in enumerate(cells):
        cell.id = f"{exercise.split('_')[0]}-{i:02d}"   # stable ids: rebuilding changes nothing
    nb = v4.new_notebook(cells=cells, metadata={
        "grader": {"exercise": exercise, GENERATED: cells_digest(cells)},
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(nb)
    return nb


def cells_digest(cells: Sequence[nbformat.NotebookNode]) -> str:
    """What a learner changes when they work in a notebook: the cells' kinds and sources (not
    their outputs or execution counts)."""
    data = json.dumps([[c.cell_type, c.source] for c in cells], ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def notebook_text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def exercises_with_stubs(stubs: Path = EXERCISES_DIR) -> list[str]:
    return [e.id for e in registry.EXERCISES if (stubs / e.filename).exists()]


# -- the stub to build from ------------------------------------------------------------------------
def is_stub(source: str) -> bool:
    """Every function (and method) of the module only raises ``NotImplementedError`` (after
    its docstring): a stub as the kit ships it, not a learner's work."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    functions = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            functions += [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append(node)
    return bool(functions) and all(_only_raises(f) for f in functions)


def _only_raises(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = function.body[1:] if ast.get_docstring(function) is not None else function.body
    return (len(body) == 1 and isinstance(body[0], ast.Raise) and isinstance(body[0].exc, ast.Call)
            and isinstance(body[0].exc.func, ast.Name) and body[0].exc.func.id == "NotImplementedError")


def committed_stub(path: Path, root: Path = KIT_ROOT, depth: int = 200) -> tuple[str, str] | None:
    """The newest version of ``path`` committed in the kit's git that is a stub, with its
    commit; None without git or without such a version."""
    try:
        relative = path.resolve().relative_to(root.resolve()).as_posix()
        log = subprocess.run(["git", "-C", str(root), "log", f"-n{depth}", "--format=%h", "--", relative],
                             capture_output=True, text=True, timeout=60)
    except (ValueError, OSError, subprocess.TimeoutExpired):
        return None
    for commit in log.stdout.split() if log.returncode == 0 else ():
        shown = subprocess.run(["git", "-C", str(root), "show", f"{commit}:{relative}"],
                               capture_output=True, text=True, timeout=60)
        if shown.returncode == 0 and is_stub(shown.stdout):
            return shown.stdout, commit
    return None


def stub_source(path: Path, root: Path = KIT_ROOT) -> tuple[str | None, str | None]:
    """The stub to build a notebook from: ``path`` while it is a stub, else the stub committed
    in git; and a note when it came from git. ``(None, None)`` when there is none."""
    text = path.read_text(encoding="utf-8")
    if is_stub(text):
        return text, None
    found = committed_stub(path, root)
    return (found[0], found[1]) if found else (None, None)


# -- writing, never over a learner's edits ----------------------------------------------------------
def edited(path: Path, want: nbformat.NotebookNode) -> bool:
    """Whether the notebook at ``path`` holds cells that were not generated: its cells differ
    both from the digest it was generated with and from the notebook about to be written. A
    notebook from before the digest was recorded counts as edited when its code cells differ
    from the ones about to be written."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:          # unreadable: not ours to replace without being asked
        return True
    meta = nb.metadata.get("grader", {})
    recorded = meta.get(GENERATED) if isinstance(meta, dict) else None
    if recorded is None:
        return _code(nb.cells) != _code(want.cells)
    return cells_digest(nb.cells) not in (recorded, cells_digest(want.cells))


def _code(cells: Sequence[nbformat.NotebookNode]) -> list[str]:
    return [c.source for c in cells if c.cell_type == "code"]


def backup_path(path: Path, stamp: str | None = None) -> Path:
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    return path.with_name(f"{path.stem}.edited-{stamp}{path.suffix}")


def write_notebooks(directory: Path = NOTEBOOKS_DIR, *, source: Path | None = None,
                    exercises: Iterable[str] | None = None, lessons: Path = LESSONS_DIR,
                    force: bool = False, stubs: Path = EXERCISES_DIR,
                    root: Path = KIT_ROOT) -> Outcome:
    """Write ``<directory>/<id>.ipynb`` for each exercise. The code comes from ``source`` when
    given (a folder of modules, taken as they are: the kit's tests build solved notebooks from
    ``solutions/``); else from the stubs in ``stubs``, or from the git of ``root`` where a
    learner has filled one in. A notebook with edits is kept, or with ``force`` copied aside
    first."""
    outcome = Outcome()
    folder = source or stubs
    directory.mkdir(parents=True, exist_ok=True)
    for ex_id in exercises or exercises_with_stubs(folder):
        path = directory / f"{ex_id}.ipynb"
        module = folder / f"{ex_id}.py"
        if source is None:
            code, commit = stub_source(module, root)
            if code is None:
                outcome.kept.append(NO_STUB.format(path=_shown(path), module=_shown(module)))
                continue
            if commit:
                outcome.notes.append(FROM_GIT.format(module=_shown(module), path=_shown(path),
                                                     commit=commit))
        else:
            code = module.read_text(encoding="utf-8")
        nb = build_notebook(ex_id, code, lessons=lessons)
        text = notebook_text(nb)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            outcome.unchanged.append(path)
            continue
        if path.exists() and edited(path, nb):
            if not force:
                outcome.kept.append(KEPT_EDITED.format(
                    path=_shown(path), backup_pattern=_shown(backup_path(path, "<time>"))))
                continue
            backup = backup_path(path)
            shutil.copy2(path, backup)
            outcome.notes.append(BACKED_UP.format(path=_shown(path), backup=_shown(backup)))
        path.write_text(text, encoding="utf-8")
        outcome.written.append(path)
    return outcome


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m grader.instructor.build_notebooks",
                                description="Build notebooks/<exercise>.ipynb from the stubs.")
    p.add_argument("--out", type=Path, default=NOTEBOOKS_DIR, help="folder for the notebooks")
    p.add_argument("--from", dest="source", type=Path, default=None,
                   help="take the code from this folder as it is (default: the stubs in exercises/)")
    p.add_argument("--check", action="store_true", help="only say whether they are up to date")
    p.add_argument("--force", action="store_true",
                   help="rebuild notebooks with edits too, after copying each aside")
    args = p.parse_args(argv)
    if args.check:
        stale = stale_notebooks(args.out)
        for path in stale:
            print(OUT_OF_DATE.format(path=path), file=sys.stderr)
        return 1 if stale else 0
    outcome = write_notebooks(args.out, source=args.source, force=args.force)
    for line in outcome.notes:
        print(line)
    for path in outcome.unchanged:
        print(UP_TO_DATE.format(path=_shown(path)))
    for path in outcome.written:
        print(WROTE.format(path=_shown(path)))
    for line in outcome.kept:
        print(line, file=sys.stderr)
    return 0 if outcome.ok else 1


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
