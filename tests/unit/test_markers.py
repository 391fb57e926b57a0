"""A suite's markers are checked: a typo in check(...) or exercise(...) is an error naming the
test, never a silent default (check(point=2) used to score 1)."""

from __future__ import annotations

import pytest

from grader.engine.markers import CheckSpec, MarkerError, parse_check, parse_exercise
from grader.results import Check, CheckKind, CheckStatus, Role, Visibility

WHERE = "test_ex03_matmul.py::test_matmul_lesson_example"


def test_a_well_formed_check():
    assert parse_check(WHERE, (), {}) == CheckSpec()
    spec = parse_check(WHERE, (), {"points": 2, "kind": "constraint", "function": "matmul",
                                   "hints": ["look at k", "sum over k"]})
    assert spec == CheckSpec(2.0, CheckKind.CONSTRAINT, "matmul", ("look at k", "sum over k"),
                             role=Role.METHOD)


def test_a_checks_role_defaults_by_kind_and_is_validated():
    assert parse_check(WHERE, (), {}).role is Role.VALUES
    assert parse_check(WHERE, (), {"kind": "timing"}).role is Role.METHOD
    assert parse_check(WHERE, (), {"kind": "constraint"}).role is Role.METHOD
    assert parse_check(WHERE, (), {"role": "errors"}).role is Role.ERRORS
    with pytest.raises(MarkerError, match="role='value'"):
        parse_check(WHERE, (), {"role": "value"})


def test_every_kind_is_public_unless_marked_hidden():
    for kind in CheckKind:
        assert parse_check(WHERE, (), {"kind": kind.value}).visibility is Visibility.PUBLIC
    assert parse_check(WHERE, (), {"visibility": "hidden"}).visibility is Visibility.HIDDEN
    assert parse_check(WHERE, (), {"visibility": "public"}).visibility is Visibility.PUBLIC


def test_a_check_result_carries_its_visibility_through_json():
    check = Check("dot_random_vectors", CheckKind.CORRECTNESS, CheckStatus.PASSED, 2.0, 2.0,
                  visibility=Visibility.HIDDEN)
    assert check.to_dict()["visibility"] == "hidden"
    assert Check.from_dict(check.to_dict()).visibility is Visibility.HIDDEN
    old = {k: v for k, v in check.to_dict().items() if k != "visibility"}   # a schema-1 file
    assert Check.from_dict(old).visibility is Visibility.PUBLIC


@pytest.mark.parametrize("args, kwargs, says", [
    ((), {"point": 2}, "unknown keyword(s) point"),
    ((2,), {}, "keywords only"),
    ((), {"points": "2"}, "points='2'"),
    ((), {"points": -1}, "0 or more"),
    ((), {"points": True}, "points=True"),
    ((), {"kind": "speed"}, "one of correctness, timing, constraint"),
    ((), {"function": 3}, "function=3"),
    ((), {"hints": "one hint"}, "a tuple of strings"),
    ((), {"hints": ("ok", 3)}, "a tuple of strings"),
    ((), {"visibility": "secret"}, "one of public, hidden"),
    ((), {"hidden": True}, "unknown keyword(s) hidden"),
])
def test_a_malformed_check_is_an_error_naming_the_test(args, kwargs, says):
    with pytest.raises(MarkerError) as info:
        parse_check(WHERE, args, kwargs)
    assert str(info.value).startswith(WHERE) and says in str(info.value)


def test_the_exercise_marker():
    assert parse_exercise(WHERE, ("ex04_simple_mnist",), {"note": "see the grid"}).note == "see the grid"
    for args, kwargs in ((), {}), (("ex01", "ex02"), {}), (("ex01",), {"notes": "x"}), (("ex01",), {"note": 1}):
        with pytest.raises(MarkerError, match=WHERE):
            parse_exercise(WHERE, args, kwargs)
