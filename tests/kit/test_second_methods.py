"""A second correct method for every function (issue 14, point 6): each exercise has a golden
submission, written another way than the reference solution, that every check passes
(tests/kit/test_golden.py grades it). Tolerances that follow the dtype and the operation
(grader/checks/tolerance.py) are what let such methods pass; a logsumexp softmax in float32,
for one, used to lose 2 points to rtol 1e-5."""

from __future__ import annotations

import ast
import json

import pytest

from grader import registry
from grader.paths import SOLUTIONS_DIR
from kit_files import FIXTURES

IDS = [e.id for e in registry.EXERCISES if e.suite.exists()]
SECOND = ("_second_method", "_all_correct_by_a_learner", "_correct_learner_style")


def _bodies(path) -> dict[str, str]:
    """Each function's (and method's) body without its docstring, normalised by ast."""
    out = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            out[node.name] = "\n".join(ast.unparse(s) for s in body)
    return out


@pytest.mark.parametrize("ex_id", IDS)
def test_every_function_has_a_second_correct_method(ex_id):
    prefix = ex_id.split("_")[0]
    cases = [c for c in FIXTURES.glob(f"{prefix}_*") if c.name.endswith(SECOND)]
    assert cases, f"{ex_id}: no golden submission with a second correct method"
    solution = _bodies(SOLUTIONS_DIR / f"{ex_id}.py")
    public = registry.BY_ID[ex_id].functions
    for case in cases:
        spec = json.loads((case / "expected.json").read_text())
        assert spec["exercise_status"] == {ex_id: "passed"} and spec.get("other_checks") == "passed", case.name
    mine = {}
    for case in cases:
        mine.update({name: body for name, body in _bodies(case / f"{ex_id}.py").items()
                     if body != solution.get(name)})
    written_another_way = {f for f in public if f in mine or any(m in mine for m in _methods(ex_id, f))}
    assert written_another_way == set(public), f"{ex_id}: same as the solution: {set(public) - written_another_way}"


def _methods(ex_id: str, name: str) -> list[str]:
    tree = ast.parse((SOLUTIONS_DIR / f"{ex_id}.py").read_text())
    return [m.name for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name
            for m in n.body if isinstance(m, ast.FunctionDef)]
