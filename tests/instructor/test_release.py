"""`grader release`: a student kit without the answers and without the hidden checks, that
checks itself offline and grades exactly as the instructor's kit on every public check; the
autograder with every check; the solved copy.

The release is built once into a scratch folder from the kit's own course.toml."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from bench.agreement import compare, grade, shim_python
from grader.course import load
from grader.engine.plan import plan
from grader.instructor import release as rel
from grader.instructor.strip import hidden_tests
from grader import registry
from kit_files import FIXTURES, ROOT
from suite_modules import maximum

pytestmark = pytest.mark.slow
COURSE = load(ROOT / "course.toml", known=registry.BY_ID)
IDS = [e.id for e in registry.select(None, COURSE)]


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "out"
    rel.release(out=out, course=COURSE)
    return out


@pytest.fixture(scope="module")
def student(released) -> Path:
    return released / "student"


@pytest.fixture(scope="module")
def student_python(tmp_path_factory) -> Path:
    """This environment's libraries without its editable install of the kit (whose finder
    would lend the student kit our grader.instructor): what a learner's own venv is."""
    return shim_python(tmp_path_factory.mktemp("student-venv") / "venv")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# -- what is there, and what is not ------------------------------------------------------------
def test_the_release_holds_the_student_kit_the_autograder_and_the_solutions(released, student):
    assert {p.name for p in released.iterdir()} == {"student", "autograder.zip", "solutions",
                                                    rel.MARKER}
    for ex_id in IDS:
        for path in (f"exercises/{ex_id}.py", f"notebooks/{ex_id}.ipynb",
                     f"grader/suites/test_{ex_id}.py"):
            assert (student / path).is_file(), path
        assert (released / "solutions" / f"{ex_id}.py").is_file()
        assert (released / "solutions" / "notebooks" / f"{ex_id}.ipynb").is_file()
    for path in ("README.md", "Makefile", "pyproject.toml", "constraints.txt", ".ci/run",
                 "course.toml", "baselines/ex03_matmul.py", "data/mnist_5k.npz", "tests/conftest.py"):
        assert (student / path).is_file(), path
    assert os.access(student / ".ci" / "run", os.X_OK)
    summary = json.loads((released / rel.MARKER).read_text())
    assert summary["max_score"] == plan(COURSE).max_score() == sum(
        r["public"]["points"] + r["hidden"]["points"] for r in summary["exercises"].values())


def test_the_student_kit_has_no_answers_tools_or_history(student):
    names = [p.relative_to(student).as_posix() for p in _files(student)]
    banned = ("solutions/", "tests/fixtures", "bench/", "grader/instructor/", "docs/",
              "golden", ".git/", "__pycache__", "gradescope/")
    assert not [n for n in names if any(b in n for b in banned)]
    assert not [n for n in names if n.endswith((".pyc", ".pyo", ".pkl", ".pickle", ".pt", ".pth", ".zip"))]
    for path in (student / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in nb.cells if c.cell_type == "code"), path.name
    readme = (student / "README.md").read_text()
    assert "instructor" not in readme.lower() and "{exercises}" not in readme


def _normalised_bodies(tree: ast.AST) -> dict[str, str]:
    """Every function's (and lambda's) body, docstring dropped, its arguments and local names
    renamed in order of appearance: two bodies that differ only in names compare equal."""
    out = {}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        body = node.body if isinstance(node.body, list) else [ast.Return(node.body)]
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]
        if not body:
            continue
        args = [a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)]
        stored = [n.id for b in body for n in ast.walk(b) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, ast.Store)]
        names = {name: f"v{i}" for i, name in enumerate(dict.fromkeys(args + stored))}
        module = ast.Module(body=[ast.parse(ast.unparse(b)).body[0] for b in body], type_ignores=[])
        for n in ast.walk(module):
            if isinstance(n, ast.Name) and n.id in names:
                n.id = names[n.id]
        out[ast.dump(module, annotate_fields=False)] = getattr(node, "name", "<lambda>")
    return out


def _python_sources(student: Path) -> dict[str, str]:
    sources = {p.relative_to(student).as_posix(): p.read_text() for p in student.rglob("*.py")}
    for path in student.rglob("*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                sources[f"{path.relative_to(student)} cell {i + 1}"] = cell.source
    return sources


def test_no_function_body_of_a_reference_solution_is_in_the_student_kit(student):
    solution_bodies = {}
    for path in (ROOT / "solutions").glob("ex*.py"):
        for body, name in _normalised_bodies(ast.parse(path.read_text())).items():
            solution_bodies[body] = f"solutions/{path.name}: {name}"
    found = []
    for where, text in _python_sources(student).items():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        found += [f"{where}: {name} has the body of {solution_bodies[body]}"
                  for body, name in _normalised_bodies(tree).items() if body in solution_bodies]
    assert solution_bodies and not found, "\n".join(found)


def _literals(node: ast.AST) -> set[str]:
    """Distinctive inputs: strings of 12 characters or more, and tuples of 3 or more numbers."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and len(n.value) >= 12:
            out.add(repr(n.value))
        elif isinstance(n, ast.Tuple) and len(n.elts) >= 3 and all(
                isinstance(e, ast.Constant) and isinstance(e.value, (int, float)) for e in n.elts):
            out.add(ast.dump(n, annotate_fields=False))
    return out


def test_no_hidden_checks_name_or_input_is_in_the_student_kit(student):
    the_plan = plan(COURSE)
    names = {c.name for c in the_plan.checks if c.visibility.value == "hidden"}
    assert names, "the course hides no check: nothing to test"
    texts = {p.relative_to(student).as_posix(): p.read_text(errors="replace")
             for p in _files(student) if p.suffix != ".npz"}
    leaks = [f"{where} names {name}" for where, text in texts.items() for name in names if name in text]
    assert not leaks, leaks
    for ex_id in IDS:
        source = registry.BY_ID[ex_id].suite.read_text()
        tree = ast.parse(source)
        hidden = hidden_tests(source, ex_id, COURSE)
        shipped = ast.parse((student / "grader" / "suites" / f"test_{ex_id}.py").read_text())
        kept_names = {n.name for n in shipped.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))} | {
            t.id for n in shipped.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        public_literals = set().union(*(_literals(n) for n in tree.body
                                        if not (isinstance(n, ast.FunctionDef) and n.name in hidden)))
        hidden_literals = set().union(set(), *(_literals(n) for n in tree.body
                                               if isinstance(n, ast.FunctionDef) and n.name in hidden))
        shipped_literals = _literals(shipped)
        assert not (hidden_literals - public_literals) & shipped_literals, ex_id
        assert not hidden & kept_names, ex_id
        # Everything left is the suite's own text: each public test function, byte for byte.
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") and node.name not in hidden:
                assert ast.get_source_segment(source, node) in shipped_text(student, ex_id), node.name


def shipped_text(student: Path, ex_id: str) -> str:
    return (student / "grader" / "suites" / f"test_{ex_id}.py").read_text()


# -- the student kit works, offline ----------------------------------------------------------
@pytest.fixture(scope="module")
def fresh_copy(student, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("course-repo") / "kit"
    shutil.copytree(student, copy)
    return copy


def _offline(cmd: list[str]) -> list[str]:
    """``cmd`` with no network where this machine can take it away (a network namespace)."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True) if shutil.which("unshare") else None
    if probe is not None and probe.returncode == 0:
        return ["unshare", "-n", *cmd]
    return cmd


def _make(kit: Path, python: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
           "PIP_NO_INDEX": "1", "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    return subprocess.run(_offline(["make", "-C", str(kit), *args, f"PY={python}"]),
                          capture_output=True, text=True, timeout=900, env=env)


def test_make_test_passes_in_a_fresh_copy_with_no_network(fresh_copy, student_python):
    done = _make(fresh_copy, student_python, "test")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
    assert not (fresh_copy / ".venv").exists()       # PY= installs nothing


def test_make_grade_on_the_stubs_reports_every_exercise_not_started(fresh_copy, student_python):
    done = _make(fresh_copy, student_python, "grade")
    assert done.returncode != 0, done.stdout
    for ex_id in IDS:
        line = next(l for l in done.stdout.splitlines() if l.strip().startswith(ex_id))
        assert "not started" in line, line
    assert "more checks" in done.stdout and "run when your course grades this" in done.stdout


# -- the same verdicts on both sides -----------------------------------------------------------
# A call's time limit is generous here: ex06_row_loops' knn takes 2-3 s per call, and a
# verdict decided by the machine's load (a timeout on one side only) says nothing of the kits.
AGREEMENT_SETTINGS = {"call_timeout_s": 30}


def _golden(name: str) -> tuple:
    spec = json.loads((FIXTURES / name / "expected.json").read_text())
    return name, FIXTURES / name, spec.get("exercises") or [], False, AGREEMENT_SETTINGS


# The solutions with timing; golden mistakes of every exercise.
AGREEMENT_CASES = [("solutions", ROOT / "solutions", IDS, True, AGREEMENT_SETTINGS)] + [
    _golden(name) for name in ("ex02_broadcast_to_copies", "ex03_matvec_wrong_axis",
                               "ex03_matmul_uses_np_matmul", "ex04_missing_relu",
                               "ex05_transitions_times_state", "ex06_row_loops")]


@pytest.mark.parametrize("name, submission, exercises, timing, settings", AGREEMENT_CASES,
                         ids=[c[0] for c in AGREEMENT_CASES])
def test_both_kits_give_every_public_check_the_same_verdict(name, submission, exercises, timing,
                                                            settings, student, student_python,
                                                            tmp_path):
    extra = () if timing else ("--no-timing",)
    mine = grade(student, submission, exercises, 0, tmp_path / "student.json", extra,
                 student_python, settings)
    theirs = grade(ROOT, submission, exercises, 0, tmp_path / "instructor.json", extra,
                   settings=settings)
    assert compare(mine, theirs) == []
    assert mine["max_score"] == theirs["max_score"]


# -- the autograder and the solved copy ------------------------------------------------------
def test_the_autograder_holds_every_check_and_no_solution(released):
    with zipfile.ZipFile(released / "autograder.zip") as zf:
        names = set(zf.namelist())
        course = zf.read("course.toml").decode()
        suite = zf.read("grader/suites/test_ex03_matmul.py").decode()
    assert not [n for n in names if n.startswith(("solutions/", "tests/", "exercises/", "bench/"))]
    assert {"setup.sh", "run_autograder", "grader/suites/exercises.json",
            "baselines/ex06_vectorize.py"} <= names
    assert suite == registry.BY_ID["ex03_matmul"].suite.read_text()     # hidden checks and all
    assert "[hidden]" not in course


# -- what the release refuses -----------------------------------------------------------------
def test_a_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(rel.ReleaseError, match="no earlier `grader release` wrote"):
        rel.release(out=tmp_path, course=COURSE)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_stub_with_an_answer_in_it_is_refused(tmp_path):
    stub = tmp_path / "ex01_vectors.py"
    stub.write_text((ROOT / "solutions" / "ex01_vectors.py").read_text())
    with pytest.raises(rel.ReleaseError, match="does not raise NotImplementedError"):
        rel._check_stub(stub)


def test_a_new_release_keeps_the_courses_repository(released, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(released, out)
    (out / "student" / ".git").mkdir()
    (out / "student" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (out / "student" / "stale.txt").write_text("from an older release")
    rel.release(out=out, course=COURSE)
    assert (out / "student" / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert not (out / "student" / "stale.txt").exists()


# -- a course that changes points and visibility both ways ------------------------------------
def test_a_course_that_changes_visibility_and_points_releases_a_kit_that_agrees(student_python, tmp_path):
    from grader.course import CheckOverride, Course
    from grader.results import Visibility

    course = Course(name="Homework 1", exercises=("ex01_vectors",), source="hw1.toml", checks={
        "ex01_vectors/dot_random_vectors": CheckOverride(points=3, visibility=Visibility.PUBLIC),
        # hidden: dot's lesson example (dot_random_vectors, made public, still checks dot's values
        # in the student kit: a function's other checks pay only once a public values check passes)
        "ex01_vectors/dot_lesson_example": CheckOverride(visibility=Visibility.HIDDEN)})
    rel.release(out=tmp_path / "out", course=course)
    student = tmp_path / "out" / "student"
    suite = (student / "grader" / "suites" / "test_ex01_vectors.py").read_text()
    assert "def test_dot_random_vectors" in suite and "dot_lesson_example" not in suite
    assert not (student / "exercises" / "ex03_matmul.py").exists()
    course_file = tmp_path / "hw1.toml"
    course_file.write_text(course.to_toml())
    mine = grade(student, ROOT / "solutions", [], 0, tmp_path / "s.json", (), student_python)
    theirs = grade(ROOT, ROOT / "solutions", [], 0, tmp_path / "i.json", (),
                   settings={"course": course_file})
    assert compare(mine, theirs) == []
    assert [e["id"] for e in mine["exercises"]] == ["ex01_vectors"]
    assert mine["max_score"] == theirs["max_score"] == maximum("ex01_vectors") + 1   # dot_random_vectors: 2 -> 3
    assert mine["hidden_remaining"] == {"checks": 4, "points": 4.0}
