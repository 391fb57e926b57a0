"""The standards every hidden suite is written to.

- Every check has a known kind, points and at least two progressive hints in its marker,
  from a nudge about the idea to a pointer at the exact step (``grader hint`` shows them one
  at a time; a check that can fail and has no hint leaves a learner with nothing to ask for).
- No hint is the solution: no code fragment of a reference solution's function bodies
  (normalised: without spaces) appears in a hint, a hint constant or an inline ``hint=`` text,
  unless the stub already shows it (a docstring that states the contract gives nothing away).
- Hidden checks (``visibility="hidden"``) are never lesson examples, constraints, speed
  targets or checks that bad input is rejected: those are what a learner must see fail.
"""

from __future__ import annotations

import ast
import re

import pytest

from grader import registry
from grader.engine.markers import parse_check
from grader.paths import SOLUTIONS_DIR
from grader.results import CheckKind, Role, Visibility
from kit_files import pristine_text
from suite_modules import load_suite

IDS = [e.id for e in registry.EXERCISES if e.suite.exists()]
MIN_FRAGMENT = 18      # shorter code (a * b, x.sum(axis=1)) is a name for an idea, not a solution


def _checks(ex_id):
    module = load_suite(ex_id)
    for name, fn in vars(module).items():
        if name.startswith("test_") and callable(fn):
            marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "check"]
            yield name, marks


def _specs(ex_id):
    for name, marks in _checks(ex_id):
        assert len(marks) == 1, f"{ex_id}: {name} has {len(marks)} check markers"
        yield name, parse_check(name, marks[0].args, marks[0].kwargs)   # the grader's own reading


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).replace('"', "'")


def solution_fragments(ex_id: str) -> set[str]:
    """Every expression and statement of the solution's function bodies, without spaces, that
    is long enough to be a step of the solution and that the stub does not show already."""
    tree = ast.parse((SOLUTIONS_DIR / f"{ex_id}.py").read_text())
    stub = _squash(pristine_text(f"exercises/{ex_id}.py"))
    found = set()
    for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        body = fn.body[1:] if ast.get_docstring(fn) is not None else fn.body
        for stmt in body:
            for node in ast.walk(stmt):
                if _is_a_step(node):
                    text = _squash(ast.unparse(node)).removeprefix("return")
                    if len(text) >= MIN_FRAGMENT and text not in stub:
                        found.add(text)
    return found


def _is_a_step(node: ast.AST) -> bool:
    """Code that computes something from the learner's data: a call with arguments, an
    operation, a comparison, an index, an assignment or a return value. A bare name or a call
    without arguments (optimizer.zero_grad(), torch.get_default_dtype()) names an API, which a
    hint may point at."""
    if isinstance(node, ast.Call):
        return bool(node.args or node.keywords)
    return isinstance(node, (ast.BinOp, ast.BoolOp, ast.Compare, ast.Subscript, ast.UnaryOp,
                             ast.Assign, ast.AugAssign, ast.Return))


def hint_texts(ex_id: str) -> list[str]:
    """The hints of a suite: its markers', its HINT constants and every inline hint= text."""
    texts = [h for _, spec in _specs(ex_id) for h in spec.hints]
    module = load_suite(ex_id)
    texts += [v for k, v in vars(module).items() if "HINT" in k and isinstance(v, str)]
    texts += [h for k, v in vars(module).items() if "HINT" in k and isinstance(v, tuple)
              for h in v if isinstance(h, str)]
    tree = ast.parse(registry.BY_ID[ex_id].suite.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("hint", "dtype_hint", "shape_hint"):
            texts += [c.value for c in ast.walk(node.value)
                      if isinstance(c, ast.Constant) and isinstance(c.value, str)]
    return texts


@pytest.mark.parametrize("ex_id", IDS)
def test_every_check_has_two_hints_a_kind_and_points(ex_id):
    found = list(_specs(ex_id))
    assert found
    few = [name for name, spec in found if len(spec.hints) < 2]
    assert not few, f"{ex_id}: checks with fewer than two hints: {few}"
    for name, spec in found:
        assert spec.points > 0 and spec.kind in CheckKind, name
        assert all(len(h) > 20 for h in spec.hints), f"{ex_id}: {name} has a hint of a few words"
        assert len(set(spec.hints)) == len(spec.hints), f"{ex_id}: {name} repeats a hint"


@pytest.mark.parametrize("ex_id", IDS)
def test_no_hint_holds_a_step_of_the_solution(ex_id):
    fragments = solution_fragments(ex_id)
    assert fragments
    for text in hint_texts(ex_id):
        squashed = _squash(text)
        leaked = sorted(f for f in fragments if f in squashed)
        assert not leaked, f"{ex_id}: the hint {text!r} holds the solution's `{leaked[0]}`"


def test_the_leak_test_catches_the_hints_that_gave_the_answer_away():
    """Two hints that handed over ex04's solution, as issue 14 found them."""
    fragments = solution_fragments("ex04_simple_mnist")
    for old in ("(predict(model, x) == y).float().mean().item()",
                "return nn.Parameter(torch.randn(*dims) / dims[0])"):
        assert any(f in _squash(old) for f in fragments), old


@pytest.mark.parametrize("ex_id", IDS)
def test_what_a_learner_must_see_fail_is_public(ex_id):
    for name, spec in _specs(ex_id):
        if spec.visibility is not Visibility.HIDDEN:
            continue
        assert "lesson_example" not in name, f"{ex_id}: {name}: lesson examples stay public"
        assert spec.kind is CheckKind.CORRECTNESS, f"{ex_id}: {name}: constraints and speed stay public"
        assert spec.role is Role.VALUES, f"{ex_id}: {name}: rejecting bad input stays public"


@pytest.mark.parametrize("ex_id", ("ex07_attention", "ex08_svd", "ex09_backprop"))
def test_the_randomized_checks_of_ex07_to_ex09_are_hidden(ex_id):
    """What the suites' authors marked `# hidden` before visibility was a marker keyword."""
    hidden = {name for name, spec in _specs(ex_id) if spec.visibility is Visibility.HIDDEN}
    assert hidden
