"""Find the exercise modules in what a learner hands in, wherever they sit.

Submissions arrive as folders, zips and notebooks, nested a folder or two down, as a whole
copy of the kit (a GitHub upload), beside stray files, and under the names an LMS gives them
(Canvas ``smithjohn_1234_5678_ex01_vectors.py``, Moodle
``Jane Doe_4321_assignsubmission_file_ex01_vectors.py``). ``find_modules`` looks at the
file list (a folder walked without following links, or a zip's member list) and chooses, for
each exercise, one file:

- a candidate is a ``.py`` or ``.ipynb`` file named after the exercise (after an LMS prefix
  and a copy suffix such as ``-1`` or `` (2)`` are taken off: ``ex03_matmul``, then a name
  that contains the id, then one that starts ``ex03``), a notebook whose metadata names it,
  or a file that defines the exercise's functions;
- a whole copy of the kit (``exercises/`` holding exercise modules beside ``grader/`` or
  ``pyproject.toml``) is read from its ``exercises/`` and ``notebooks/`` only: never from
  ``solutions/``, ``tests/`` or the grader;
- among several candidates the order is: started before untouched (every function still the
  stub's ``raise NotImplementedError``), named before detected, ``exercises/`` before
  ``notebooks/`` before elsewhere, nearer the top, ``.py`` before ``.ipynb``, newer, then by
  path; the report says which file was taken and why.

Every decision becomes a note for the report (``took notebooks/ex03_matmul.ipynb for
ex03_matmul; ...``); an exercise without a file is named with what was found instead. A link
is never followed, special files are never opened, and what is looked at and read is capped
(``MAX_ENTRIES``, ``MAX_READS``, ``MAX_TOTAL_BYTES``). ``materialize`` writes the chosen
modules, and the ``.py`` helpers beside them, into the grading folder.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Iterable, Sequence

from grader import registry
from grader.engine.sources import (MAX_FILE_BYTES, MAX_NOTEBOOK_BYTES, NOT_A_FILE, TOO_LARGE,
                                   TOO_MANY_ENTRIES, Archive, Budget, Folder, Item, Single,
                                   read_capped)
from grader.errors import SubmissionError

__all__ = ["Archive", "Folder", "Single", "Item", "read_capped", "find_modules", "lms_parts",
           "exercise_by_name", "kit_root", "MAX_FILE_BYTES", "MAX_NOTEBOOK_BYTES", "NOT_A_FILE",
           "TOO_LARGE", "TOO_MANY_ENTRIES"]

MAX_HELPERS = 200                  # .py helpers copied beside the chosen modules

NO_PYTHON = "{name} holds no Python files (and no notebooks)"
NOTHING_FOUND = ("found no exercise module in {name}: it holds {found}; an exercise module is "
                 "named after its exercise (ex01_vectors.py or .ipynb) or defines its functions")
MISSING = "no file for {exercises}: none is named after it or defines its functions; found {found}"
TOOK = "took {path} for {exercise}{how}"
TOOK_OVER = "; also found {others}: took {path} because {why}"
IGNORED = "ignored {what}"
KIT_COPY = ("a copy of the kit: read {root}exercises/ and {root}notebooks/ only (never "
            "solutions/, tests/ or the grader)")
UNREADABLE_NOTEBOOK = "{name} is not a readable notebook ({reason})"

HOW = {"named": "", "contains": " (named after it)", "numbered": " (by its number)",
       "metadata": " (its metadata names it)", "functions": " (it defines {functions})"}
WHY = ("it is started and {others} still the untouched stub",
       "it is named after the exercise", "it sits in the kit's exercises/ folder",
       "it sits nearer the top", "a .py module comes before a notebook", "it is the newest",
       "it comes first by name")

# Canvas: lastfirst[_LATE]_<user id>_<submission id>_<file>; Moodle: Full Name_<id>_assignsubmission_file_<file>
CANVAS = re.compile(r"^(?P<learner>[a-z0-9]+)_(?P<late>LATE_)?(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<learner>.+?_\d+)_assignsubmission_file_(?P<file>.*)$")
COPY_SUFFIX = re.compile(r"(?:-\d+| \(\d+\)| copy(?: \d+)?)$")
NUMBERED = re.compile(r"(?:^|[^a-z0-9])ex0?(\d{1,2})(?:[^0-9]|$)")


# -- names ------------------------------------------------------------------------------------------
def lms_parts(name: str) -> tuple[str | None, str]:
    """``(learner key, original file name)`` of an LMS download name; ``(None, name)`` else."""
    for pattern in (CANVAS, MOODLE):
        m = pattern.match(name)
        if m and m.group("file"):
            key = m.group("learner") + (f"_{m.group('user')}" if pattern is CANVAS else "")
            return key, m.group("file")
    return None, name


def exercise_by_name(filename: str, ids: Iterable[str]) -> tuple[str, str] | None:
    """``(exercise, how)`` when the file's name says which exercise it is."""
    stem = PurePosixPath(lms_parts(filename)[1]).stem
    stem = COPY_SUFFIX.sub("", stem).strip().lower()
    ids = list(ids)
    if stem in ids:
        return stem, "named"
    inside = [i for i in ids if i in stem]
    if len(inside) == 1:
        return inside[0], "contains"
    numbers = {int(n) for n in NUMBERED.findall(stem)}
    by_number = [i for i in ids if int(i[2:4]) in numbers]
    return (by_number[0], "numbered") if len(by_number) == 1 else None


# -- choosing ---------------------------------------------------------------------------------------
@dataclass
class Candidate:
    item: Item
    exercise: str
    how: str                     # named | contains | numbered | metadata | functions
    started: bool
    data: bytes
    area: int = 2                # 0 the kit's exercises/, 1 its notebooks/, 2 anywhere else
    functions: tuple[str, ...] = ()

    @property
    def notebook(self) -> bool:
        return self.item.path.endswith(".ipynb")

    def rank(self) -> tuple:
        named = 0 if self.how in ("named", "metadata") else 1 if self.how in ("contains", "numbered") else 2
        return (not self.started, named, self.area, self.item.depth, self.notebook,
                -self.item.mtime, self.item.path)


@dataclass
class Intake:
    chosen: dict[str, Candidate] = field(default_factory=dict)
    helpers: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    budget: Budget | None = None     # what reading has cost so far (the helpers are read later)


def find_modules(source: "Folder | Archive", label: str, exercise_ids: Sequence[str]) -> Intake:
    """Choose one file per exercise (see the module docstring); ``label`` names the submission."""
    items, notes = source.items()
    code = [i for i in items if i.name.endswith((".py", ".ipynb"))]
    if not code:
        raise SubmissionError("; ".join([NO_PYTHON.format(name=label), *notes[:3]]))
    root = kit_root(items)
    if root is not None:
        notes.append(KIT_COPY.format(root=root))
        code = [i for i in code if i.folder in (f"{root}exercises", f"{root}notebooks")]
    budget = Budget(label)
    every = [e.id for e in registry.EXERCISES]
    candidates: list[Candidate] = []
    unreadable: list[str] = []
    ordered = sorted(code, key=lambda i: (i.depth, i.path))
    named = {i.path: exercise_by_name(i.name, every) for i in ordered}
    # Named files and notebooks first; other .py files are read only while an exercise lacks one.
    first = [i for i in ordered if named[i.path] is not None or i.name.endswith(".ipynb")]
    for item in first + [i for i in ordered if i not in first]:
        if item not in first and all(any(c.exercise == ex for c in candidates) for ex in exercise_ids):
            break
        limit = MAX_NOTEBOOK_BYTES if item.name.endswith(".ipynb") else MAX_FILE_BYTES
        if item.size > limit:
            notes.append(TOO_LARGE.format(name=item.path, limit=limit >> 20))
            continue
        try:
            data = source.read(item, limit)
        except SubmissionError as exc:
            notes.append(str(exc))
            continue
        budget.charge(len(data))
        if item.name.endswith(".ipynb"):
            found = _notebook_candidate(item, data, every)
            if isinstance(found, str):
                unreadable.append(found)
                continue
        else:
            found = _module_candidates(item, data, named[item.path], every)
        candidates += [Candidate(item, ex, how, started, data, _area(item, root), fns)
                       for ex, how, started, fns in found]
    intake = _choose(candidates, unreadable, code, label, exercise_ids, notes)
    intake.budget = budget
    return intake


def kit_root(items: list[Item]) -> str | None:
    """The prefix (``""`` or ``"linalg-kit-main/"``) of a whole copy of the kit, or None: an
    ``exercises/`` folder holding exercise modules, beside ``grader/`` or ``pyproject.toml``."""
    ids = {e.id for e in registry.EXERCISES}
    paths = {i.path for i in items}
    roots = {i.folder[: -len("exercises")] for i in items
             if i.depth <= 2 and PurePosixPath(i.folder).name == "exercises"
             and i.name.removesuffix(".py") in ids}
    for root in sorted(roots, key=len):
        if any(p.startswith(f"{root}grader/") for p in paths) or f"{root}pyproject.toml" in paths:
            return root
    return None


def _area(item: Item, root: str | None) -> int:
    if root is None:
        return 2
    return 0 if item.folder == f"{root}exercises" else 1


def _module_candidates(item: Item, data: bytes, named: tuple[str, str] | None, every: list[str]):
    """(exercise, how, started, functions) for a .py file: by its name, else by what it defines."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    if named is not None:
        ex, how = named
        return [(ex, how, tree is None or _started(tree, ex), ())]
    if tree is None:
        return []
    return [(ex, "functions", _started(tree, ex), fns) for ex, fns in _defined(tree, every)]


def _notebook_candidate(item: Item, data: bytes, every: list[str]):
    """[(exercise, how, started, functions)] for a notebook, or the reason it cannot be read."""
    from grader.engine.notebook_source import notebook_cells, notebook_exercise, parse_notebook

    try:
        nb = parse_notebook(data, item.path)
    except SubmissionError as exc:
        return str(exc)
    cells = notebook_cells(nb)
    original = lms_parts(item.name)[1]
    meta = nb.metadata.get("grader", {})
    named = exercise_by_name(original, every)
    source = "\n".join(c.source for c in cells)
    try:
        tree = ast.parse(_python_only(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    if isinstance(meta, dict) and meta.get("exercise") in every:
        ex, how = meta["exercise"], "metadata"
    elif named is not None:
        ex, how = named
    else:
        ex = notebook_exercise(nb, PurePosixPath(original), cells)
        how = "functions"
        if ex is None:
            return []
    fns = tuple(n for n in registry.BY_ID[ex].functions if re.search(rf"\b(?:def|class)\s+{n}\b", source))
    return [(ex, how, tree is None or _started(tree, ex), fns)]


def _python_only(source: str) -> str:
    """Notebook code without the lines Python cannot parse (magics, shell, help)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) or line.rstrip().endswith("?")
                     else line for line in source.split("\n"))


def _defined(tree: ast.Module, every: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    found = []
    for ex in every:
        fns = tuple(f for f in registry.BY_ID[ex].functions if f in names)
        if fns:
            found.append((ex, fns))
    return found


def _started(tree: ast.Module, exercise: str) -> bool:
    """False when every function of the exercise the module defines is still the stub's
    ``raise NotImplementedError(...)`` (a docstring before it is fine)."""
    wanted = set(registry.BY_ID[exercise].functions)
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in wanted]
    return not defs or any(not _is_stub(d.body) for d in defs)


def _is_stub(body: list[ast.stmt]) -> bool:
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def _choose(candidates: list[Candidate], unreadable: list[str], code: list[Item], label: str,
            exercise_ids: Sequence[str], notes: list[str]) -> Intake:
    if not candidates:
        if unreadable and len(code) == len(unreadable):
            raise SubmissionError(unreadable[0])
        raise SubmissionError(NOTHING_FOUND.format(name=label, found=_listing(code)))
    intake = Intake(notes=notes + [IGNORED.format(what=u) for u in unreadable])
    wanted = set(exercise_ids)
    for ex in [e for e in exercise_ids]:
        mine = sorted((c for c in candidates if c.exercise == ex), key=Candidate.rank)
        if not mine:
            continue
        best, others = mine[0], mine[1:]
        intake.chosen[ex] = best
        simple = best.item.path == f"{ex}.py" and not others
        if not simple:
            how = HOW[best.how].format(functions=", ".join(best.functions))
            note = TOOK.format(path=best.item.path, exercise=ex, how=how)
            if others:
                note += TOOK_OVER.format(others=", ".join(o.item.path for o in others),
                                         path=best.item.name, why=_why(best, others))
            intake.notes.append(note)
    missing = [ex for ex in exercise_ids if ex not in intake.chosen]
    if missing:
        intake.notes.append(MISSING.format(exercises=", ".join(missing), found=_listing(code)))
    taken = {c.item.path for c in intake.chosen.values()}
    folders = {c.item.folder for c in intake.chosen.values()}
    lost = {c.item.path for c in candidates if c.exercise in wanted}
    names = set(intake.chosen)       # module names the chosen files become
    for item in code:
        stem = PurePosixPath(item.name).stem
        if item.path in taken:
            continue
        if item.name.endswith(".py") and item.folder in folders and stem not in names:
            if len(intake.helpers) < MAX_HELPERS:       # the learner's own modules beside them
                intake.helpers.append(item)
                names.add(stem)
        elif item.path not in lost and (item.folder in folders or item.depth == 0):
            intake.notes.append(IGNORED.format(what=item.path))
    return intake


def _why(best: Candidate, others: list[Candidate]) -> str:
    """The first rule that puts ``best`` before the runner-up."""
    mine, runner = best.rank(), others[0].rank()
    i = next((i for i in range(len(WHY)) if mine[i] != runner[i]), len(WHY) - 1)
    other = "the others are" if len(others) > 1 else "the other is"
    return WHY[i].format(others=other) if i == 0 else WHY[i]


def _listing(code: list[Item], limit: int = 6) -> str:
    names = [i.path for i in code[:limit]]
    more = f" and {len(code) - limit} more" if len(code) > limit else ""
    return ", ".join(names) + more if names else "no Python files"
