"""Adding an exercise touches the files the README names and no grader code: a throwaway
exercise added to a copy of the kit is registered, its solution scores full marks, its stub
is not started, its notebook is built by `make notebooks`, and a typo in its suite's markers
stops the grading with the test named."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit_files import LEARNER_FOLDERS, ROOT, pristine_copy

pytestmark = pytest.mark.slow
EXERCISE = "ex99_double"
STUB = '''"""Exercise 99: Doubling, a throwaway exercise.

The lesson in one line: multiply by two.
"""

import numpy as np


def double(a: np.ndarray) -> np.ndarray:
    """Return ``2 * a``.

    >>> double(np.array([1, 2]))
    array([2, 4])
    """
    raise NotImplementedError("ex99_double.double: not implemented yet")
'''
SOLUTION = STUB.replace('    raise NotImplementedError("ex99_double.double: not implemented yet")',
                        "    return 2 * np.asarray(a)")
SUITE = '''"""Hidden suite for ex99_double: double."""

import numpy as np
import pytest

from grader.checks.expect import expect_array

pytestmark = pytest.mark.exercise("ex99_double")


@pytest.mark.check(points=2, hints=("multiply by two",))
def test_double_lesson_example(ex):
    a = np.array([1, 2, 3])
    expect_array(ex.double(a), 2 * a, call="double([1, 2, 3])")


@pytest.mark.check(points=1)
def test_double_random(ex, rng):
    a = rng.standard_normal(5)
    expect_array(ex.double(a), 2 * a, call="double(a)", inputs={"a": a})
'''
LESSON = "# Exercise 99: doubling\n\nMultiply every entry by two.\n"
NEW_FILES = {f"exercises/{EXERCISE}.py": STUB, f"solutions/{EXERCISE}.py": SOLUTION,
             f"grader/suites/test_{EXERCISE}.py": SUITE, f"notebooks/lessons/{EXERCISE}.md": LESSON}


def _kit_copy(dest: Path) -> Path:
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, dest / name)
    # exercises/ and notebooks/ as committed: a learner's work there is not the kit's.
    for folder in LEARNER_FOLDERS:
        shutil.rmtree(dest / folder, ignore_errors=True)
    return pristine_copy(dest)


def _files(kit: Path) -> set[str]:
    return {str(p.relative_to(kit)) for p in kit.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def _run(kit: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=kit, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(kit)})


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    kit = _kit_copy(tmp_path_factory.mktemp("kit"))
    before = _files(kit)
    for name, text in NEW_FILES.items():
        (kit / name).write_text(text)
    built = _run(kit, "-m", "grader.instructor.build_notebooks")      # make notebooks
    assert built.returncode == 0, built.stderr
    added = _files(kit) - before
    assert added == {*NEW_FILES, f"notebooks/{EXERCISE}.ipynb"}, added
    assert not [n for n in added if n.startswith("grader/") and not n.startswith("grader/suites/")]
    return kit


def _grade(kit: Path, submission: str, out: Path) -> tuple[subprocess.CompletedProcess, dict]:
    done = _run(kit, "-m", "grader", "grade", "ex99", "--submission", submission, "--json", str(out))
    return done, json.loads(out.read_text()) if out.exists() else {}


def test_the_new_exercise_is_registered_from_its_files(kit):
    done = _run(kit, "-c", "from grader import registry; e = registry.BY_ID['ex99_double']; "
                           "print(e.title, e.functions, e.uses_torch, e.suite.exists())")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Doubling, a throwaway exercise ('double',) False True"


def test_its_solution_scores_full_marks(kit, tmp_path):
    done, doc = _grade(kit, "solutions", tmp_path / "solved.json")
    assert done.returncode == 0, done.stdout + done.stderr
    (ex,) = doc["exercises"]
    assert ex["id"] == EXERCISE and ex["status"] == "passed" and ex["score"] == ex["max_score"] == 3


def test_its_stub_is_not_started(kit, tmp_path):
    done, doc = _grade(kit, "exercises", tmp_path / "stub.json")
    assert done.returncode == 1, done.stdout + done.stderr
    assert doc["exercises"][0]["status"] == "not_started" and doc["score"] == 0


def test_its_notebook_grades_as_the_module(kit, tmp_path):
    notebook = json.loads((kit / "notebooks" / f"{EXERCISE}.ipynb").read_text())
    assert notebook["metadata"]["grader"]["exercise"] == EXERCISE
    assert "".join(notebook["cells"][0]["source"]).startswith("# Exercise 99: doubling")
    done, doc = _grade(kit, f"notebooks/{EXERCISE}.ipynb", tmp_path / "notebook.json")
    assert doc["exercises"][0]["status"] == "not_started", done.stdout + done.stderr


def test_a_typo_in_its_markers_stops_the_grading_naming_the_test(kit, tmp_path):
    suite = kit / "grader" / "suites" / f"test_{EXERCISE}.py"
    suite.write_text(SUITE.replace("check(points=1)", "check(point=1)"))
    try:
        done, _ = _grade(kit, "solutions", tmp_path / "typo.json")
    finally:
        suite.write_text(SUITE)
    assert done.returncode != 0
    assert "test_ex99_double.py::test_double_random: check(...) has unknown keyword(s) point" in done.stderr
