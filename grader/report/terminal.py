"""The terminal report of a graded submission (``markdown.py`` gives the same in Markdown).

Built from ``results.Submission``. An untouched exercise is one line; a failed check shows
its diagnosis; functions that are not started are summed up, never listed check by check.
Points are shown out of what ran here; checks not run (timing disabled, no GPU) and the
hidden checks a student kit does not hold are said, with their points, under the exercise.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from typing import TextIO

from grader.report.text import plain
from grader.results import Check, CheckStatus, Exercise, ExerciseStatus, Submission
from grader.truncation import FEEDBACK_LINES

LABELS = {ExerciseStatus.PASSED: "passed", ExerciseStatus.FAILED: "failed",
          ExerciseStatus.NOT_STARTED: "not started", ExerciseStatus.ERROR: "error"}
COLOURS = {ExerciseStatus.PASSED: "32", ExerciseStatus.FAILED: "31",
           ExerciseStatus.NOT_STARTED: "33", ExerciseStatus.ERROR: "35"}
MARKS = {CheckStatus.FAILED: "x", CheckStatus.ERROR: "!", CheckStatus.TIMEOUT: "T",
         CheckStatus.SKIPPED: "-", CheckStatus.PASSED: "+"}
INDENT = " " * 6      # an exercise's detail under its head line
NEXT_STEP = "Next: open exercises/{file}, fix the first failing check, and run `make grade EX={id}`."
NEXT_STEP_NOTEBOOK = ("Next: open {file}, fix the first failing check, save the notebook and run "
                      "the same command again (or run the notebook's last cell).")
# The report's last line under `grader grade` / `make grade`: what the exit status says.
EXIT_FAILED = ("Exit status 1: some checks did not pass (make reports that as "
               "\"make: *** [...] Error 1\" and itself exits with 2); 0 when every check passes.")
EXIT_PASSED = "Exit status 0: every check passed."
HIDDEN_REMAINING = "{checks} more {noun}, {points} points, run when your course grades this"
NOT_RUN = "not run: {count} {noun}, {points} points: {reasons}"
NOT_RUN_INFORMATIONAL = "not run: {count} GPU {noun} (informational, no points): {reasons}"
TOTAL = "Total: {score} / {max} points ({passed} of {count} exercises passed)"
TOTAL_HIDDEN = ("the assignment is worth {max} points: {remaining} (there, a check of how a "
                "function works, of its form or of the errors it raises pays once its hidden "
                "checks pass too)")


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour else text


def points(x: float) -> str:
    """Points as every view writes them: 9, 0.5, 17."""
    return f"{x:g}"


def render(result: Submission, *, colour: bool = False, verbose: bool = False,
           notebook: str | None = None, exit_status: bool = False) -> str:
    """The report. ``notebook``: the notebook file graded (the next step names it instead of
    ``exercises/``); ``exit_status``: end with the line that says what the command's exit
    status means (``grader grade``, where a shell or ``make`` shows it)."""
    lines = [f"Grading {plain(result.submission)} (seed {result.environment.get('seed', '?')})", ""]
    if result.error:
        lines += [f"  This submission could not be graded: {plain(result.error)}", ""]
    width = max((len(e.id) for e in result.exercises), default=10)
    for ex in result.exercises:
        label = LABELS[ex.status]
        head = (f"  {ex.id:<{width}}  {_paint(f'{label:<11}', COLOURS[ex.status], colour)}"
                f"  {points(ex.score):>5} / {points(ex.max_score_here):<5}  {ex.title}")
        lines.append(head)
        if ex.status is ExerciseStatus.PASSED and not verbose:
            lines += [INDENT + line for line in _not_run_lines(ex)]
            continue
        if ex.status is ExerciseStatus.NOT_STARTED:
            lines += [INDENT + line for line in _hidden_lines(ex)]
            continue
        if ex.status is ExerciseStatus.ERROR and ex.error:
            if all(c.status is CheckStatus.ERROR for c in ex.checks):
                lines += [INDENT + line for line in plain(ex.error).splitlines()[:FEEDBACK_LINES]]
                continue
        lines += [INDENT + line for line in exercise_detail(ex, verbose)]
    lines.append("")
    here = round(sum(e.max_score_here for e in result.exercises), 6)
    lines.append("  " + TOTAL.format(
        score=points(result.score), max=points(here), count=len(result.exercises),
        passed=sum(e.status is ExerciseStatus.PASSED for e in result.exercises)))
    if result.hidden.checks:
        lines.append("  " + TOTAL_HIDDEN.format(max=points(result.max_score),
                                                remaining=hidden_remaining(result.hidden)))
    lines += [f"  {plain(note)}" for note in result.notes]
    first = next((e for e in result.exercises if e.status is not ExerciseStatus.PASSED), None)
    if first is not None and not result.error:
        lines += ["", NEXT_STEP_NOTEBOOK.format(file=plain(notebook)) if notebook
                  else NEXT_STEP.format(file=f"{first.id}.py", id=first.id)]
    if exit_status:
        lines += ["", EXIT_PASSED if result.all_passed else EXIT_FAILED]
    return "\n".join(lines) + "\n"


def hidden_remaining(hidden) -> str:
    return HIDDEN_REMAINING.format(checks=hidden.checks, points=points(hidden.points),
                                   noun="check" if hidden.checks == 1 else "checks")


def _hidden_lines(ex: Exercise) -> list[str]:
    return [f"- {hidden_remaining(ex.hidden)}"] if ex.hidden.checks else []


def _not_run_lines(ex: Exercise) -> list[str]:
    """Checks not run here, with their reasons and points; then the hidden checks."""
    lines = []
    for informational, text in ((False, NOT_RUN), (True, NOT_RUN_INFORMATIONAL)):
        skipped = [c for c in ex.checks if c.status is CheckStatus.SKIPPED
                   and c.informational is informational]
        if skipped:
            reasons = "; ".join(sorted({plain(c.feedback.removeprefix("skipped: ")) for c in skipped}))
            lines.append("- " + text.format(count=len(skipped), reasons=reasons,
                                            noun="check" if len(skipped) == 1 else "checks",
                                            points=points(sum(c.max_points for c in skipped))))
    return lines + _hidden_lines(ex)


def exercise_detail(ex: Exercise, verbose: bool) -> list[str]:
    """The lines under an exercise's head line (indented by the view that shows them)."""
    lines: list[str] = []
    untouched: "OrderedDict[str, list[Check]]" = OrderedDict()
    for check in ex.checks:
        if check.not_started:
            untouched.setdefault(check.function or "?", []).append(check)
    for fn, checks in untouched.items():
        pts = sum(c.max_points for c in checks)
        lines.append(f"- {fn}: not started ({len(checks)} checks, {points(pts)} points)")
    shown = [c for c in ex.checks if not c.not_started and c.status is not CheckStatus.SKIPPED
             and (verbose or c.status is not CheckStatus.PASSED)]
    # Checks that failed with the very same feedback (a function that is missing, say) are
    # shown once, with the other checks' names after it.
    same: "OrderedDict[tuple[str, str], list[Check]]" = OrderedDict()
    for check in shown:
        key = (check.status, check.feedback) if check.feedback else (check.id, "")
        same.setdefault(key, []).append(check)
    for group in same.values():
        check = group[0]
        got, worth = sum(c.points for c in group), sum(c.max_points for c in group)
        names = check.id if len(group) == 1 else f"{check.id} and {len(group) - 1} more"
        extra = ", informational" if check.informational else ""
        lines.append(f"{MARKS[check.status]} {names}  "
                     f"[{check.status.value}, {points(got)}/{points(worth)}{extra}]")
        body = plain(check.feedback).splitlines()
        if len(body) > FEEDBACK_LINES:
            body = body[:FEEDBACK_LINES] + [f"[... {len(body) - FEEDBACK_LINES} more lines]"]
        lines += [f"    {line}" for line in body if line.strip()]
        if len(group) > 1:
            lines.append(f"    (the same for {', '.join(c.id for c in group[1:])})")
    return lines + _not_run_lines(ex)


def print_report(result: Submission, *, stream: TextIO | None = None, verbose: bool = False,
                 notebook: str | None = None, exit_status: bool = False) -> None:
    stream = stream or sys.stdout
    stream.write(render(result, colour=use_colour(stream), verbose=verbose, notebook=notebook,
                        exit_status=exit_status))
    stream.flush()
