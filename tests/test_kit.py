"""The kit as a whole: every reference solution scores full marks, every stub is not started."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader import registry
from grader.results import CheckStatus, ExerciseStatus
from grader.engine.session import grade_submission
from grader.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
WITH_SUITES = [e.id for e in registry.EXERCISES if e.suite.exists()]


@pytest.fixture(scope="module")
def solved():
    result = grade_submission(submission=ROOT / "solutions", settings=Settings(timing=True))
    return {e.id: e for e in result.exercises}


@pytest.fixture(scope="module")
def stubs():
    result = grade_submission(submission=ROOT / "exercises", settings=Settings(timing=False))
    return {e.id: e for e in result.exercises}


@pytest.mark.parametrize("ex_id", WITH_SUITES)
def test_solution_scores_full_marks(solved, ex_id):
    ex = solved[ex_id]
    failed = [f"{c.id}: {c.status.value}: {c.feedback}" for c in ex.checks
              if c.status not in (CheckStatus.PASSED, CheckStatus.SKIPPED)]
    assert not failed, "\n".join(failed)
    assert ex.status is ExerciseStatus.PASSED and ex.score == ex.max_score > 0


@pytest.mark.parametrize("ex_id", WITH_SUITES)
def test_stub_is_not_started(stubs, ex_id):
    ex = stubs[ex_id]
    assert ex.status is ExerciseStatus.NOT_STARTED, [(c.id, c.status.value, c.feedback) for c in ex.checks]
    assert ex.score == 0


@pytest.mark.parametrize("ex_id", [e.id for e in registry.EXERCISES])
def test_stub_and_solution_share_signatures_and_docstrings(ex_id):
    def outline(path: Path) -> dict:
        tree = ast.parse(path.read_text())
        out = {"__doc__": ast.get_docstring(tree)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                args = ast.unparse(node.args) if isinstance(node, ast.FunctionDef) else ""
                out[node.name] = (args, ast.get_docstring(node))
        return out

    stub, solution = ROOT / "exercises" / f"{ex_id}.py", ROOT / "solutions" / f"{ex_id}.py"
    assert stub.exists() and solution.exists()
    assert outline(stub) == outline(solution)


@pytest.mark.parametrize("ex_id", [e.id for e in registry.EXERCISES])
def test_every_stub_function_raises_not_implemented(ex_id):
    tree = ast.parse((ROOT / "exercises" / f"{ex_id}.py").read_text())
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert funcs
    for fn in funcs:
        last = fn.body[-1]
        assert isinstance(last, ast.Raise) and "NotImplementedError" in ast.unparse(last), fn.name
