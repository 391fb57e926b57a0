"""No point without correct work.

A check that judges *how* a function works (a constraint, vectorization, a speed target, a
view instead of a copy: ``Role.METHOD``), that it *rejects* bad input (``Role.ERRORS``) or
only the *form* of its answer (a type, dtype or shape, an edge case whose answer is zeros:
``Role.FORM``) is easy to satisfy with a function that computes nothing: ``return None`` uses
no forbidden construct and has no loop; ``raise ValueError(...)`` rejects every input;
``return 0.0`` is a float. So such a check
pays only when the same function's ``Role.VALUES`` checks in the same grading run all pass
(and there is at least one that ran), hidden ones included: a function that answers the
public examples and nothing else earns none of them. The feedback names the public checks
that fail, which a student kit names too; a student kit, without the hidden checks, can pay
a check that the course's grading then holds back, and its report says so. A speed target also needs the function's constraint
checks: speed bought with the routine the exercise rules out (``np.matmul`` in ``matmul``) is
not the learner's. Otherwise the check fails with feedback that says so, and its own verdict
is kept below that line, so the learner still learns what it found.
"""

from __future__ import annotations

from collections import defaultdict

from grader.results import Check, CheckKind, CheckStatus, Exercise, Role, Visibility

GATED = "earns its {points} once `{function}` {computes}: {failing} {verb} not pass yet"
HIDDEN = "checks your course runs on inputs you do not see"
POINT = "point"


def gate(exercise: Exercise) -> None:
    """Fail the ``errors`` and ``method`` checks of every function whose ``values`` checks do
    not all pass (in place)."""
    by_function: dict[str, list[Check]] = defaultdict(list)
    for check in exercise.checks:
        if check.function is not None and not check.informational:
            by_function[check.function].append(check)
    for function, checks in by_function.items():
        values = [c for c in checks if c.role is Role.VALUES and c.status is not CheckStatus.SKIPPED]
        rules = [c for c in checks if c.kind is CheckKind.CONSTRAINT
                 and c.status not in (CheckStatus.PASSED, CheckStatus.SKIPPED)]
        wrong = [c for c in values if c.status is not CheckStatus.PASSED]
        not_started = any(c.not_started for c in values)
        for check in checks:
            if check.role is Role.VALUES or check.status is not CheckStatus.PASSED:
                continue
            failing = wrong + (rules if check.kind is CheckKind.TIMING else [])
            if values and not failing:
                continue
            # Named: the public checks, which a student kit has too, so that both kits say
            # the same words whenever they reach the same verdict.
            shown = [c for c in failing if c.visibility is Visibility.PUBLIC]
            names = (", ".join(c.id for c in shown[:3]) + (" and more" if len(shown) > 3 else "")
                     if shown else HIDDEN if failing else "")
            reason = GATED.format(
                points=POINT if check.max_points == 1 else f"{check.max_points:g} points",
                function=function, verb="do" if len(shown) != 1 else "does",
                failing=names or "no check of its values ran",
                computes="computes correctly" if wrong or not values else "keeps to the exercise's rules")
            check.status, check.points, check.gated = CheckStatus.FAILED, 0.0, True
            check.not_started = check.not_started or not_started
            check.feedback = reason + (f"\n  (on its own: {check.feedback})" if check.feedback else "")
