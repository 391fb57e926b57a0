"""No point without correct work (engine/gating.py), on checks made by hand."""

from __future__ import annotations

from grader.engine.gating import gate
from grader.results import Check, CheckKind, CheckStatus, Exercise, Role

PASSED, FAILED, SKIPPED = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.SKIPPED


def _check(id, status, *, role=Role.VALUES, kind=CheckKind.CORRECTNESS, function="matmul", points=1.0,
           not_started=False, informational=False):
    return Check(id=id, kind=kind, status=status, max_points=points,
                 points=points if status is PASSED else 0.0, function=function, role=role,
                 not_started=not_started, informational=informational, feedback="")


def _exercise(*checks):
    ex = Exercise("ex03_matmul", "t")
    ex.checks.extend(checks)
    gate(ex)
    return {c.id: c for c in ex.checks}


def test_method_and_errors_checks_pay_only_when_the_values_are_right():
    got = _exercise(_check("lesson", FAILED), _check("random", PASSED),
                    _check("rejects", PASSED, role=Role.ERRORS),
                    _check("without", PASSED, role=Role.METHOD, kind=CheckKind.CONSTRAINT),
                    _check("speed", PASSED, role=Role.METHOD, kind=CheckKind.TIMING, points=2))
    for name in ("rejects", "without", "speed"):
        assert got[name].status is FAILED and got[name].points == 0 and got[name].gated
        assert got[name].feedback.startswith("earns its")
    assert "earns its 2 points once `matmul` computes correctly: lesson does not pass yet" in got["speed"].feedback
    assert got["random"].status is PASSED and got["random"].points == 1


def test_right_values_let_them_pay():
    got = _exercise(_check("lesson", PASSED), _check("rejects", PASSED, role=Role.ERRORS),
                    _check("without", PASSED, role=Role.METHOD, kind=CheckKind.CONSTRAINT))
    assert all(c.status is PASSED and c.points == 1 and not c.gated for c in got.values())


def test_a_function_with_no_values_check_that_ran_earns_nothing_else():
    got = _exercise(_check("lesson", SKIPPED), _check("without", PASSED, role=Role.METHOD,
                                                      kind=CheckKind.CONSTRAINT))
    assert got["without"].status is FAILED and "no check of its values ran" in got["without"].feedback


def test_speed_bought_with_a_forbidden_routine_does_not_pay():
    got = _exercise(_check("lesson", PASSED),
                    _check("without", FAILED, role=Role.METHOD, kind=CheckKind.CONSTRAINT),
                    _check("vectorized", PASSED, role=Role.METHOD, kind=CheckKind.CONSTRAINT),
                    _check("speed", PASSED, role=Role.METHOD, kind=CheckKind.TIMING))
    assert got["vectorized"].status is PASSED
    assert got["speed"].status is FAILED
    assert "once `matmul` keeps to the exercise's rules: without does not pass yet" in got["speed"].feedback


def test_checks_of_other_functions_and_informational_ones_are_left_alone():
    got = _exercise(_check("lesson", FAILED), _check("right", PASSED, function="matvec"),
                    _check("other", PASSED, role=Role.METHOD, function="matvec"),
                    _check("gpu", PASSED, role=Role.METHOD, informational=True, points=0))
    assert got["other"].status is PASSED and got["gpu"].status is PASSED


def test_a_not_started_function_keeps_its_checks_not_started():
    got = _exercise(_check("lesson", FAILED, not_started=True),
                    _check("without", PASSED, role=Role.METHOD, kind=CheckKind.CONSTRAINT))
    assert got["without"].not_started
