"""The kit as a whole: every registered exercise has all its files, every reference solution
scores full marks, every stub (as committed) is not started, stubs and solutions agree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader import registry
from grader.engine.session import grade_submission
from grader.paths import SOLUTIONS_DIR
from grader.results import CheckStatus, ExerciseStatus
from grader.settings import Settings

IDS = [e.id for e in registry.EXERCISES]


@pytest.fixture(scope="module")
def solved():
    result = grade_submission(submission=SOLUTIONS_DIR, settings=Settings(timing=True))
    return {e.id: e for e in result.exercises}


@pytest.fixture(scope="module")
def stubs(pristine):
    result = grade_submission(submission=pristine / "exercises", settings=Settings(timing=False))
    return {e.id: e for e in result.exercises}


def test_the_registry_finds_the_exercises():
    assert IDS == sorted(IDS) and len(IDS) >= 6
    assert registry.select(None) == list(registry.EXERCISES)   # every one has its suite


@pytest.mark.parametrize("ex_id", IDS)
def test_every_exercise_has_its_stub_solution_suite_lesson_and_notebook(ex_id, pristine):
    info = registry.BY_ID[ex_id]
    files = {"solutions/": SOLUTIONS_DIR / info.filename, "grader/suites/": info.suite,
             "exercises/": pristine / "exercises" / info.filename,      # as committed
             "notebooks/lessons/": pristine / "notebooks" / "lessons" / f"{ex_id}.md",
             "notebooks/": pristine / "notebooks" / f"{ex_id}.ipynb"}
    missing = [f"{folder}{path.name}" for folder, path in files.items() if not path.exists()]
    assert not missing, f"{ex_id} is registered but has no {', '.join(missing)}"


@pytest.mark.parametrize("ex_id", IDS)
def test_solution_scores_full_marks(solved, ex_id):
    ex = solved[ex_id]
    failed = [f"{c.id}: {c.status.value}: {c.feedback}" for c in ex.checks
              if c.status not in (CheckStatus.PASSED, CheckStatus.SKIPPED)]
    assert not failed, "\n".join(failed)
    assert ex.status is ExerciseStatus.PASSED and ex.score == ex.max_score > 0


@pytest.mark.parametrize("ex_id", IDS)
def test_stub_is_not_started(stubs, ex_id):
    ex = stubs[ex_id]
    assert ex.status is ExerciseStatus.NOT_STARTED, [(c.id, c.status.value, c.feedback) for c in ex.checks]
    assert ex.score == 0


def outline(path: Path) -> dict:
    tree = ast.parse(path.read_text())
    out = {"__doc__": ast.get_docstring(tree)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            args = ast.unparse(node.args) if isinstance(node, ast.FunctionDef) else ""
            out[node.name] = (args, ast.get_docstring(node))
    return out


@pytest.mark.parametrize("ex_id", IDS)
def test_stub_and_solution_share_signatures_and_docstrings(ex_id, pristine):
    assert outline(pristine / "exercises" / f"{ex_id}.py") == outline(SOLUTIONS_DIR / f"{ex_id}.py")


@pytest.mark.parametrize("ex_id", IDS)
def test_every_stub_function_raises_not_implemented(ex_id, pristine):
    tree = ast.parse((pristine / "exercises" / f"{ex_id}.py").read_text())
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert funcs
    for fn in funcs:
        last = fn.body[-1]
        assert isinstance(last, ast.Raise) and "NotImplementedError" in ast.unparse(last), fn.name
