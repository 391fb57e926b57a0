"""``grader release --out DIR``: a course's release, with ``course.toml`` applied.

Writes, under ``DIR``:

- ``student/``: the kit a course publishes as its own repository: the stubs, their
  notebooks (no outputs), the data, the speed baselines, the grader without its instructor
  package and with the public checks only (suites stripped of the hidden ones by
  ``strip.py``; the student's ``course.toml`` knows the hidden ones by number and points
  only), a learner's README, Makefile, pyproject.toml, constraints.txt, ``.ci/run`` and a
  small test set that checks the student kit itself (``student_kit/``, the templates).
  No ``solutions/``, hidden check, golden fixture, anti-solution, bytecode or git history.
- ``autograder.zip``: Gradescope's autograder, with every check (``gradescope.build_zip``).
- ``solutions/``: the reference modules and solved notebooks, for the instructor after the
  deadline.
- ``RELEASE.json``: what was released: the exercises, each one's public and hidden checks
  and points, the assignment's maximum.

The release checks itself before it is written: every stub still raises
``NotImplementedError`` (an instructor's own work in ``exercises/`` is never shipped), the
suites stripped of exactly the checks the collected plan calls hidden, and no hidden
check's name anywhere in ``student/``. A ``DIR`` that holds anything but an earlier release
is refused; an earlier release is replaced, keeping a ``student/.git`` (the course's
published repository) as it is.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import nbformat

from grader import registry
from grader.course import Course
from grader.engine.plan import Plan, PlanError, plan as collect_plan
from grader.files import write_text
from grader.instructor import build_notebooks, gradescope
from grader.instructor.strip import hidden_tests, strip
from grader.paths import KIT_ROOT
from grader.results import Visibility

TEMPLATE = KIT_ROOT / "student_kit"
MARKER = "RELEASE.json"
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".grader"}
SKIP_SUFFIXES = (".pyc", ".pyo")
STUDENT_GRADER_LEAVES = ("instructor",)       # packages of grader/ a student kit has no use for
KIT_FILES = ("constraints.txt", ".gitignore")
NOT_EMPTY = "{out} holds files that no earlier `grader release` wrote: choose an empty or new folder"
NOT_A_STUB = ("exercises/{file}: {function} does not raise NotImplementedError: the stubs are "
              "what learners get, so restore it first (git checkout exercises/{file})")
LEAKED = "student/{path} names the hidden check {name}: the release would give it away"


class ReleaseError(RuntimeError):
    """The release cannot be made as asked; nothing was written."""


@dataclass
class Release:
    out: Path
    plan: Plan
    exercises: list[str]

    def summary(self) -> dict:
        rows = {}
        for ex in self.exercises:
            checks = [c for c in self.plan.of(ex) if not c.informational]
            public = [c for c in checks if c.visibility is Visibility.PUBLIC]
            hidden = [c for c in checks if c.visibility is Visibility.HIDDEN]
            rows[ex] = {"public": {"checks": len(public), "points": sum(c.points for c in public)},
                        "hidden": {"checks": len(hidden), "points": sum(c.points for c in hidden)},
                        "max_score": self.plan.max_score(ex)}
        return {"exercises": rows, "max_score": self.plan.max_score(),
                "student": "student/", "autograder": "autograder.zip", "solutions": "solutions/"}


def release(*, out: Path, course: Course, kit: Path = KIT_ROOT) -> Release:
    """Write the release of ``course`` under ``out`` (see the module docstring)."""
    out = Path(out)
    _check_out(out)
    try:
        the_plan = collect_plan(course)
    except PlanError as exc:
        raise ReleaseError(f"the suites could not be collected: {exc}") from None
    ids = the_plan.exercises
    infos = [registry.BY_ID[i] for i in ids]
    for info in infos:
        _check_stub(kit / "exercises" / info.filename)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".release-", dir=out))
    try:
        _student(staging / "student", kit, course, the_plan, infos)
        _check_no_leak(staging / "student", the_plan)
        _solutions(staging / "solutions", kit, ids)
        gradescope.build_zip(staging / "autograder.zip", kit=kit, course=course.with_exercises(ids))
        done = Release(out, the_plan, ids)
        _write(staging / MARKER, json.dumps(done.summary(), indent=2) + "\n")
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return done


# -- the student kit -----------------------------------------------------------------------------
def _student(dest: Path, kit: Path, course: Course, the_plan: Plan, infos: list) -> None:
    ids = [i.id for i in infos]
    for info in infos:
        _copy(kit / "exercises" / info.filename, dest / "exercises" / info.filename)
        _notebook(kit / "notebooks" / f"{info.id}.ipynb", dest / "notebooks" / f"{info.id}.ipynb")
        baseline = kit / "baselines" / info.filename
        if baseline.exists():
            _copy(baseline, dest / "baselines" / info.filename)
    for name in ("mnist_5k.npz", "README.md"):
        _copy(kit / "data" / name, dest / "data" / name)
    _tree(kit / "grader", dest / "grader",
          skip=lambda rel: rel.parts[0] in STUDENT_GRADER_LEAVES or rel.parts[0] == "suites")
    suites = dest / "grader" / "suites"
    _copy(kit / "grader" / "suites" / "pytest.ini", suites / "pytest.ini")
    for info in infos:
        source = info.suite.read_text(encoding="utf-8")
        hidden = hidden_tests(source, info.id, course)
        if hidden != the_plan.hidden_tests(info.id):
            raise ReleaseError(f"{info.id}: the suite's markers and the collected checks disagree "
                               f"on what is hidden: {sorted(hidden ^ the_plan.hidden_tests(info.id))}")
        _write(suites / info.suite.name, strip(source, hidden).text)
    _write(suites / "exercises.json", json.dumps(registry.manifest(infos), indent=2) + "\n")
    _write(dest / "course.toml", student_course(course, the_plan, ids).to_toml(instructor=False))
    _tree(kit / TEMPLATE.relative_to(KIT_ROOT), dest)
    readme = (dest / "README.md").read_text(encoding="utf-8")
    _write(dest / "README.md", readme.replace("{exercises}", _exercise_table(infos, course, the_plan)))
    for name in KIT_FILES:
        _copy(kit / name, dest / name)
    pyproject = (kit / "pyproject.toml").read_text(encoding="utf-8")
    _write(dest / "pyproject.toml", pyproject.replace(
        'description = "Auto-graded exercises on the linear algebra behind neural networks, with a sandboxed grader."',
        f'description = {json.dumps((course.name or "Linear algebra for neural networks") + ": exercises and their grader")}'))
    for script in (dest / ".ci" / "run",):
        os.chmod(script, 0o755)


def student_course(course: Course, the_plan: Plan, ids: Sequence[str]) -> Course:
    """The student kit's course.toml: the course as it grades public checks, without any key
    that names a hidden check, and with the hidden checks counted per exercise."""
    # A check the course makes public keeps that override: its marker may say hidden.
    public = {key: change for key, change in course.checks.items()
              if key.split("/")[0] in ids and f"test_{key.split('/', 1)[1]}" not in
              the_plan.hidden_tests(key.split("/")[0])}
    hidden = {ex: the_plan.hidden(ex) for ex in ids if the_plan.hidden(ex).checks}
    return Course(name=course.name, exercises=tuple(ids), checks=public,
                  thresholds={ex: t for ex, t in course.thresholds.items() if ex in ids},
                  speed={k: v for k, v in course.speed.items() if k.split(".")[0] in ids},
                  hidden=hidden, source="course.toml")


def _exercise_table(infos: list, course: Course, the_plan: Plan) -> str:
    rows = ["| exercise | you write | points (here + graded by your course) |", "|---|---|---|"]
    for info in infos:
        hidden = the_plan.hidden(info.id)
        total = the_plan.max_score(info.id)
        rows.append(f"| `{info.id}` | {', '.join(f'`{f}`' for f in info.functions)} | "
                    f"{total - hidden.points:g} + {hidden.points:g} = {total:g} |")
    return "\n".join(rows)


def _check_stub(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            last = node.body[-1]
            if not (isinstance(last, ast.Raise) and "NotImplementedError" in ast.unparse(last)):
                raise ReleaseError(NOT_A_STUB.format(file=path.name, function=node.name))


def _check_no_leak(student: Path, the_plan: Plan) -> None:
    names = {c.name for c in the_plan.checks if c.visibility is Visibility.HIDDEN}
    for path in sorted(student.rglob("*")):
        if not path.is_file() or path.suffix in (".npz",):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in names:
            if name in text:
                raise ReleaseError(LEAKED.format(path=path.relative_to(student), name=name))


# -- the solved copy ---------------------------------------------------------------------------
def _solutions(dest: Path, kit: Path, ids: Sequence[str]) -> None:
    for ex_id in ids:
        _copy(kit / "solutions" / f"{ex_id}.py", dest / f"{ex_id}.py")
    build_notebooks.write_notebooks(dest / "notebooks", source=kit / "solutions", exercises=ids,
                                    lessons=kit / "notebooks" / "lessons")


# -- files --------------------------------------------------------------------------------------
def _check_out(out: Path) -> None:
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ReleaseError(NOT_EMPTY.format(out=out))


def _swap_in(staging: Path, out: Path) -> None:
    """Replace an earlier release's parts with the new ones; a student/.git stays."""
    git = out / "student" / ".git"
    if git.exists():
        shutil.move(str(git), str(staging / "student" / ".git"))
    for name in ("student", "solutions", "autograder.zip", MARKER):
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        os.replace(staging / name, target)


def _skipped(rel: Path) -> bool:
    return any(part in SKIP_PARTS for part in rel.parts) or rel.name.endswith(SKIP_SUFFIXES)


def _tree(src: Path, dest: Path, skip=lambda rel: False) -> None:
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if path.is_file() and not _skipped(rel) and not skip(rel):
            _copy(path, dest / rel)


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    if os.access(src, os.X_OK):
        os.chmod(dest, 0o755)


def _notebook(src: Path, dest: Path) -> None:
    """The exercise's notebook with no outputs or execution counts (nothing run ships)."""
    nb = nbformat.read(str(src), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    _write(dest, build_notebooks.notebook_text(nb))


def _write(path: Path, text: str) -> None:
    """A file of the release, readable by all (a published repository's files are)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text)
    os.chmod(path, 0o644)


# -- grader course ------------------------------------------------------------------------------
def course_report(course: Course) -> str:
    """The assignment as ``course.toml`` makes it, check by check (``grader course``)."""
    the_plan = collect_plan(course)
    lines = [f"{course.name or 'The assignment'} ({course.source}): "
             f"{len(the_plan.exercises)} exercises, {the_plan.max_score():g} points", ""]
    for ex in the_plan.exercises:
        hidden = the_plan.hidden(ex)
        lines.append(f"{ex}: {the_plan.max_score(ex):g} points, "
                     f"{hidden.points:g} of them in {hidden.checks} hidden checks")
        for c in the_plan.of(ex):
            worth = "informational" if c.informational else f"{c.points:g}"
            lines.append(f"  {c.id:48} {c.kind.value:12} {c.visibility.value:7} {worth:>13}")
        for name, value in sorted(the_plan.thresholds.get(ex, {}).items()):
            lines.append(f"  threshold {name} = {value:g}")
        for key, (target, baseline) in sorted(the_plan.speed.items()):
            if key.startswith(f"{ex}."):
                lines.append(f"  speed target {key.split('.', 1)[1]}: at most {target:g} times {baseline}")
        lines.append("")
    return "\n".join(lines)
