"""The standards the ex07-ex09 suites are written to: every check has at least two
progressive hints in its marker (none of them a line of the reference solution), a known
kind and points; every speed target, pending or live, has a library baseline of the same
signature and a loop anti-solution in bench/anti/ (`make bench` finds the live ones:
tests/unit/test_timing_rules.py)."""

from __future__ import annotations

import ast
import inspect

import pytest

from grader.engine.markers import parse_check
from grader.paths import KIT_ROOT, SOLUTIONS_DIR
from grader.results import CheckKind, Role, Visibility
from suite_modules import load_suite

NEW = ("ex07_attention", "ex08_svd", "ex09_backprop")


def _checks(ex_id):
    module = load_suite(ex_id)
    for name, fn in vars(module).items():
        if name.startswith("test_") and callable(fn):
            marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "check"]
            yield name, fn, marks


def _solution_lines(ex_id) -> set[str]:
    """The statements of the reference solution's function bodies, as source lines."""
    tree = ast.parse((SOLUTIONS_DIR / f"{ex_id}.py").read_text())
    lines = set()
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        for stmt in ast.walk(fn):
            if isinstance(stmt, (ast.Assign, ast.Return, ast.AugAssign)) and stmt.lineno != fn.lineno:
                text = ast.unparse(stmt)
                if len(text) > 25:
                    lines.add(text.removeprefix("return ").strip())
    return lines


@pytest.mark.parametrize("ex_id", NEW)
def test_every_check_has_two_hints_a_kind_and_points(ex_id):
    found = list(_checks(ex_id))
    assert found
    for name, fn, marks in found:
        assert len(marks) == 1, name
        spec = parse_check(name, marks[0].args, marks[0].kwargs)   # the grader's own reading
        assert spec.points > 0 and spec.kind in CheckKind, name
        assert len(spec.hints) >= 2 and all(len(h) > 20 for h in spec.hints), name


@pytest.mark.parametrize("ex_id", NEW)
def test_no_hint_is_a_line_of_the_solution(ex_id):
    lines = _solution_lines(ex_id)
    module = load_suite(ex_id)
    texts = [h for _, _, marks in _checks(ex_id) for m in marks for h in m.kwargs.get("hints", ())]
    texts += [v for k, v in vars(module).items() if k.startswith("HINT") and isinstance(v, str)]
    for text in texts:
        for line in lines:
            assert line not in text, f"{ex_id}: a hint holds the solution's `{line}`"


@pytest.mark.parametrize("ex_id", NEW)
def test_hidden_checks_are_marked_by_visibility(ex_id):
    """The randomized checks are hidden (visibility="hidden" on the marker); lesson examples,
    constraints, speed targets and the checks that bad input is rejected stay public."""
    hidden = set()
    for name, _, marks in _checks(ex_id):
        spec = parse_check(name, marks[0].args, marks[0].kwargs)
        if spec.visibility is Visibility.HIDDEN:
            hidden.add(name)
            assert "lesson_example" not in name and spec.kind is CheckKind.CORRECTNESS \
                and spec.role is Role.VALUES, name
    assert hidden
