"""The exercises the kit teaches, read from the kit's own files: nothing here names one.

An exercise is a module ``exNN_name.py`` in ``solutions/`` (the reference) and
``exercises/`` (the stub a learner fills in; the two share their outline, a kit test makes
sure). From it:

- ``id``: the file name without ``.py``; teaching order is the order of the ids;
- ``title``: the first line of the module's docstring, without an "Exercise NN: " in front
  and the final full stop;
- ``functions``: its public top-level functions and classes, in order (what is graded);
- ``uses_torch``: it imports torch (the worker then preloads torch);
- ``suite``: ``grader/suites/test_<id>.py``, the hidden checks (may not exist yet).

The reference solution is read when there is one, else the manifest ``grader/suites/
exercises.json`` that ``grader release`` and the Gradescope zip carry (neither has
``solutions/``), else the stub: a learner edits the stub, and their syntax error or extra
helper must not change what the grader knows. Adding an exercise therefore touches no
grader code (README, "Adding an exercise").
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from grader.paths import EXERCISES_DIR, SOLUTIONS_DIR, SUITES_DIR

MANIFEST = SUITES_DIR / "exercises.json"

ID_PATTERN = re.compile(r"ex\d\d_\w+")
TITLE_PREFIX = re.compile(r"^Exercise \d+:\s*")


@dataclass(frozen=True)
class ExerciseInfo:
    id: str
    title: str
    functions: tuple[str, ...]
    uses_torch: bool = False

    @property
    def suite(self) -> Path:
        return SUITES_DIR / f"test_{self.id}.py"

    @property
    def filename(self) -> str:
        return f"{self.id}.py"


def read_exercise(path: Path) -> ExerciseInfo:
    """The exercise a stub or solution module defines (``ValueError`` when it cannot be read)."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the exercise ({exc})") from None
    doc = (ast.get_docstring(tree) or "").strip()
    title = TITLE_PREFIX.sub("", doc.splitlines()[0]).rstrip(".") if doc else Path(path).stem
    functions = tuple(n.name for n in tree.body
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and not n.name.startswith("_"))
    imported = {a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in tree.body
                 if isinstance(n, ast.ImportFrom) and n.module and not n.level}
    return ExerciseInfo(Path(path).stem, title, functions, uses_torch="torch" in imported)


def discover(solutions: Path = SOLUTIONS_DIR, stubs: Path = EXERCISES_DIR,
             manifest: Path = MANIFEST) -> tuple[ExerciseInfo, ...]:
    """Every exercise with a solution, a manifest entry or a stub, in teaching order."""
    found: dict[str, Path | ExerciseInfo] = {}
    for path in sorted(Path(stubs).glob("ex*.py")):
        if ID_PATTERN.fullmatch(path.stem):
            found[path.stem] = path
    found.update({e.id: e for e in read_manifest(manifest)})   # the manifest wins over a stub
    for path in sorted(Path(solutions).glob("ex*.py")):         # and a solution over both
        if ID_PATTERN.fullmatch(path.stem):
            found[path.stem] = path
    return tuple(v if isinstance(v, ExerciseInfo) else read_exercise(v)
                 for _, v in sorted(found.items()))


def read_manifest(path: Path = MANIFEST) -> list[ExerciseInfo]:
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))["exercises"]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: cannot read the exercise manifest ({exc})") from None
    return [ExerciseInfo(e["id"], e["title"], tuple(e["functions"]), bool(e["uses_torch"]))
            for e in entries]


def manifest(exercises: Iterable[ExerciseInfo]) -> dict[str, Any]:
    """What ``read_manifest`` reads back: written where ``solutions/`` does not go."""
    return {"exercises": [{**asdict(e), "functions": list(e.functions)} for e in exercises]}


EXERCISES: tuple[ExerciseInfo, ...] = discover()
BY_ID = {e.id: e for e in EXERCISES}


class UnknownExercise(ValueError):
    pass


def select(ids: list[str] | tuple[str, ...] | None, course: Any = None) -> list[ExerciseInfo]:
    """The exercises named (by id or by number, e.g. ``ex03`` or ``3``); none named: the
    assignment's (``course.exercises``, grader/course.py), or every exercise with a suite."""
    if not ids and course is not None and course.exercises:
        ids = list(course.exercises)
    if not ids:
        return [e for e in EXERCISES if e.suite.exists()]
    chosen = []
    for raw in ids:
        key = raw.strip()
        match = [e for e in EXERCISES if e.id == key or e.id.split("_")[0] == key
                 or (key.isdigit() and e.id.startswith(f"ex{int(key):02d}_"))]
        if not match:
            known = ", ".join(e.id for e in EXERCISES)
            raise UnknownExercise(f"unknown exercise {raw!r}; the exercises are: {known}")
        if match[0] not in chosen:
            chosen.append(match[0])
    return chosen


def preload_for(selected: list[ExerciseInfo], present: set[str] | tuple[str, ...] | list[str]
                ) -> list[str]:
    """The libraries a worker for these exercises imports ahead of time: NumPy always, PyTorch
    when one of the ``present`` exercises uses it."""
    torch = any(e.uses_torch and e.id in present for e in selected)
    return ["numpy", "torch"] if torch else ["numpy"]
