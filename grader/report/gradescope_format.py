"""Gradescope's ``results.json`` for one graded submission (format:
gradescope-autograders.readthedocs.io, "Autograder Specifications" and "Leaderboards").

Each check becomes one test whose ``max_score`` is the check's points, so the tests add up to
the assignment's maximum on every machine: a check not run there (timing disabled) is a
failed test worth 0 of its points that says why. GPU variants never score: where they ran
they are listed at 0 of 0 points, tagged ``informational``; where they did not, the top-level
output says so. A public check's test gets ``visibility``, a hidden check's
``hidden_visibility`` (e.g. ``after_due_date``: shown once the deadline has passed). Every
measured speed check adds its ratio to the ``leaderboard`` (lower is faster).
"""

from __future__ import annotations

from grader.report.terminal import render
from grader.results import CheckStatus, Submission, Visibility

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
GRADER_FAILED = ("The autograder could not grade this submission ({error}). "
                 "Please tell your instructor; your code was not scored.")
NOT_RUN = "not run here: {reason}"
INFORMATIONAL_SKIPPED = "\n{count} GPU check(s) (informational, no points) not run: {reasons}\n"
LEADERBOARD_NAME = "{exercise} {function}: time / {baseline}"


def to_results(result: Submission, *, execution_time: float, visibility: str = "visible",
               hidden_visibility: str = "after_due_date", leaderboard: bool = True) -> dict:
    """The Gradescope document for one graded submission."""
    tests, board = [], []
    not_run: dict[str, int] = {}
    for i, ex in enumerate(result.exercises, 1):
        for j, check in enumerate(ex.checks, 1):
            skipped = check.status is CheckStatus.SKIPPED
            if skipped and check.informational:
                reason = check.feedback.removeprefix("skipped: ")
                not_run[reason] = not_run.get(reason, 0) + 1
                continue
            if skipped:
                output = NOT_RUN.format(reason=check.feedback.removeprefix("skipped: "))
            else:
                output = check.feedback or ("passed" if check.status is CheckStatus.PASSED else "")
            if check.timing is not None:
                t = check.timing
                output += (f"\ntiming: yours {t.learner_s:.4g} s, {t.baseline or 'baseline'} "
                           f"{t.reference_s:.4g} s, ratio {t.ratio:.3g} (target at most {t.target_ratio:g})")
                if leaderboard and not check.informational:
                    board.append({"name": LEADERBOARD_NAME.format(
                        exercise=ex.id, function=check.function or check.id,
                        baseline=t.baseline or "baseline"), "value": round(t.ratio, 3), "order": "asc"})
            hidden = check.visibility is Visibility.HIDDEN
            tests.append({
                "name": f"{ex.id}: {check.id}", "number": f"{i}.{j}",
                "score": check.points, "max_score": check.max_points,
                "status": "passed" if check.status is CheckStatus.PASSED else "failed",
                "output": output.strip(),
                "tags": [ex.id, check.kind.value, check.visibility.value]
                        + (["informational"] if check.informational else []),
                "visibility": hidden_visibility if hidden else visibility})
    text = render(result, colour=False)
    if not_run:
        text += INFORMATIONAL_SKIPPED.format(count=sum(not_run.values()),
                                             reasons="; ".join(sorted(not_run)))
    doc = {"score": result.score, "execution_time": max(0, round(execution_time)),
           "output": text, "output_format": "text", "test_output_format": "text",
           "visibility": visibility, "stdout_visibility": "hidden", "tests": tests,
           "extra_data": {"max_score": result.max_score, "environment": result.environment,
                          "notes": list(result.notes)}}
    if board:
        doc["leaderboard"] = board
    return doc


def failed_results(error: str, *, execution_time: float) -> dict:
    return {"score": 0.0, "execution_time": max(0, round(execution_time)),
            "output": GRADER_FAILED.format(error=error), "tests": [], "stdout_visibility": "hidden"}
