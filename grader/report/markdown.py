"""Per-learner feedback in Markdown: what the learner needs, ready to hand back.

Written by a batch to ``feedback/<name>.md`` (again at the end of every run, with the
instructor's overrides and the late policy: ``final.py``); built from ``results.Submission``
alone. It keeps what the learner can act on (scores, each failing check's diagnosis, which file
was graded) and leaves out the instructor's details (limits, the sandbox, GPU checks that
were not run here) for one plain line at the end. An error that stopped the whole submission
is said once, not once per exercise. Everything that may hold the learner's text (the
submission's name, feedback, errors, notes about cells) goes into inline code or a fenced
block longer than any backtick run inside it (``text.py``): it can never leave its fence or
pose as the grader's own line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from grader.report.final import Final, finalize
from grader.report.terminal import LABELS, exercise_detail, points
from grader.report.text import markdown_block, markdown_inline
from grader.results import CheckStatus, Exercise, ExerciseStatus, Submission

# Notes the grader adds for the instructor (the limits, the sandbox), not for the learner.
INSTRUCTOR_NOTES = ("limits:", "isolation:", "sandbox:")
GRADED = "_Graded {when}with seed {seed} (grader {version})._"
SAME_ERROR = "The same as {other}."
CHANGES = "## Changes by your instructor"
CHANGE = "- {target}: {before} → {after} of {most} points. {reason}"
LATE = ("## Late work\n\nSubmitted {submitted} ({source}), {days} after the due date {due}: "
        "{percent:g}% of the score taken off ({rule}), {penalty} points.")
AUTOMATIC = "Graded automatically: {automatic} / {max}."


def markdown(result: Submission, final: Final | None = None) -> str:
    """Feedback to hand back: the result, with ``final``'s overrides and late penalty if given."""
    final = final or finalize(result)
    out = [f"# Feedback for {markdown_inline(result.submission)}", "",
           f"**Score: {points(final.score)} / {points(result.max_score)}**", ""]
    if final.applied or final.late_penalty:
        out += [AUTOMATIC.format(automatic=points(final.automatic), max=points(result.max_score)), ""]
    if result.error:
        out += ["This submission could not be graded:", "", markdown_block(result.error), ""]
    out += ["| exercise | status | points |", "|---|---|---|"]
    out += [f"| {e.id} | {LABELS[e.status]} | {points(final.exercise_scores.get(e.id, e.score))} "
            f"/ {points(e.max_score)} |" for e in result.exercises]
    out += _changes(final) + _late(final)
    said: dict[str, str] = {result.error: "above"} if result.error else {}
    for ex in result.exercises:
        if ex.status in (ExerciseStatus.PASSED, ExerciseStatus.NOT_STARTED):
            continue
        if ex.error and ex.error in said and all(c.status is CheckStatus.ERROR for c in ex.checks):
            if said[ex.error] != "above":
                out += ["", f"## {ex.id}: {ex.title}", "", SAME_ERROR.format(other=said[ex.error])]
            continue
        out += ["", f"## {ex.id}: {ex.title}", ""]
        if ex.error:
            said.setdefault(ex.error, ex.id)
            out += [markdown_block(ex.error)]
            continue
        out += [markdown_block("\n".join(exercise_detail(_for_learner(ex), verbose=False)))]
    out += ["", "---", ""]
    notes = [n for n in result.notes if not n.startswith(INSTRUCTOR_NOTES)]
    if notes:
        out += [markdown_block("\n".join(notes)), ""]
    env = result.environment
    when = env.get("graded_at")
    out += [GRADED.format(when=f"{_when(when)} " if when else "", seed=env.get("seed"),
                          version=env.get("grader_version"))]
    return "\n".join(out) + "\n"


def _for_learner(ex: Exercise) -> Exercise:
    """The exercise without the GPU variants that were not run here (worth no points)."""
    return replace(ex, checks=[c for c in ex.checks
                               if not (c.informational and c.status is CheckStatus.SKIPPED)])


def _changes(final: Final) -> list[str]:
    if not final.applied:
        return []
    out = ["", CHANGES, ""]
    for a in final.applied:
        out.append(CHANGE.format(target=markdown_inline(a.target), before=points(a.before),
                                 after=points(a.after), most=points(a.max_points),
                                 reason=markdown_inline(a.reason)))
    return out


def _late(final: Final) -> list[str]:
    late = final.lateness
    if late is None or not late.days:
        return []
    rule = f"{100 * late.per_day:g}% a day" + (f", at most {100 * late.cap:g}%" if late.cap is not None else "")
    return ["", LATE.format(submitted=_when(late.submitted_at), source=late.source,
                            days=f"{late.days} day{'s' if late.days != 1 else ''}",
                            due=_when(late.due), percent=round(100 * late.fraction, 2), rule=rule,
                            penalty=f"-{points(final.late_penalty)}")]


def _when(t: "str | dt.datetime") -> str:
    if isinstance(t, str):
        try:
            t = dt.datetime.fromisoformat(t)
        except ValueError:
            return t
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc)
        return t.strftime("%Y-%m-%d %H:%M UTC")
    return t.strftime("%Y-%m-%d %H:%M")
