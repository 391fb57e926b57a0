"""Per-learner feedback in Markdown: the terminal report's content, ready to hand back.

Written by a batch to ``feedback/<name>.md`` (and by ``grader merge`` where a shard's is
missing); built from ``results.Submission`` alone. Everything that may hold the learner's text
(the submission's name, feedback, errors, notes about cells) goes into inline code or a
fenced block longer than any backtick run inside it (``text.py``): it can never leave its
fence or pose as the grader's own line.
"""

from __future__ import annotations

from grader.report.terminal import LABELS, exercise_detail, points
from grader.report.text import markdown_block, markdown_inline
from grader.results import ExerciseStatus, Submission


def markdown(result: Submission) -> str:
    """Per-learner feedback to hand back: the same content as the terminal report, in Markdown."""
    out = [f"# Feedback for {markdown_inline(result.submission)}", "",
           f"**Score: {points(result.score)} / {points(result.max_score)}**", ""]
    if result.error:
        out += ["This submission could not be graded:", "", markdown_block(result.error), ""]
    out += ["| exercise | status | points |", "|---|---|---|"]
    out += [f"| {e.id} | {LABELS[e.status]} | {points(e.score)} / {points(e.max_score)} |"
            for e in result.exercises]
    for ex in result.exercises:
        if ex.status in (ExerciseStatus.PASSED, ExerciseStatus.NOT_STARTED):
            continue
        out += ["", f"## {ex.id}: {ex.title}", ""]
        if ex.error:
            out += [markdown_block(ex.error)]
            continue
        out += [markdown_block("\n".join(exercise_detail(ex, verbose=False)))]
    out += ["", "---", ""]
    if result.notes:
        out += [markdown_block("\n".join(result.notes)), ""]
    out += [f"_seed {result.environment.get('seed')}, grader {result.environment.get('grader_version')}_"]
    return "\n".join(out) + "\n"
