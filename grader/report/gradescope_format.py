"""Gradescope's ``results.json`` for one graded submission (format:
gradescope-autograders.readthedocs.io, "Autograder Specifications").

Each graded check becomes one test; skipped checks (e.g. no GPU on the platform) are not
listed as tests, so they never show as passed, and the top-level output says they were
skipped.
"""

from __future__ import annotations

from grader.report.terminal import render
from grader.results import CheckStatus, Submission

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
GRADER_FAILED = ("The autograder could not grade this submission ({error}). "
                 "Please tell your instructor; your code was not scored.")


def to_results(result: Submission, *, execution_time: float, visibility: str = "visible") -> dict:
    """The Gradescope document for one graded submission."""
    tests = []
    skipped = 0
    for i, ex in enumerate(result.exercises, 1):
        for j, check in enumerate(ex.checks, 1):
            if check.status is CheckStatus.SKIPPED:
                skipped += 1
                continue
            output = check.feedback or ("passed" if check.status is CheckStatus.PASSED else "")
            if check.timing is not None:
                t = check.timing
                output += (f"\ntiming: yours {t.learner_s:.4g} s, reference {t.reference_s:.4g} s, "
                           f"ratio {t.ratio:.3g} (target at most {t.target_ratio:g})")
            tests.append({
                "name": f"{ex.id}: {check.id}", "number": f"{i}.{j}",
                "score": check.points, "max_score": check.max_points,
                "status": "passed" if check.status is CheckStatus.PASSED else "failed",
                "output": output.strip(), "tags": [ex.id, check.kind.value],
                "visibility": visibility})
    text = render(result, colour=False)
    if skipped:
        text += f"\n{skipped} check(s) were skipped (not counted): see the notes above.\n"
    return {"score": result.score, "execution_time": max(0, round(execution_time)),
            "output": text, "output_format": "text", "test_output_format": "text",
            "visibility": visibility, "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {"max_score": result.max_score, "environment": result.environment}}


def failed_results(error: str, *, execution_time: float) -> dict:
    return {"score": 0.0, "execution_time": max(0, round(execution_time)),
            "output": GRADER_FAILED.format(error=error), "tests": [], "stdout_visibility": "hidden"}
