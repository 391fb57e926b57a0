"""Per-learner feedback in Markdown: the terminal report's content, ready to hand back.

Written by a batch to ``feedback/<name>.md`` (and by ``grader merge`` where a shard's is
missing); built from ``results.Submission`` alone.
"""

from __future__ import annotations

from grader.report.terminal import LABELS, exercise_detail, points
from grader.results import ExerciseStatus, Submission


def markdown(result: Submission) -> str:
    """Per-learner feedback to hand back: the same content as the terminal report, in Markdown."""
    out = [f"# Feedback for {result.submission}", "",
           f"**Score: {points(result.score)} / {points(result.max_score)}**", ""]
    if result.error:
        out += [f"> This submission could not be graded: {result.error}", ""]
    out += ["| exercise | status | points |", "|---|---|---|"]
    out += [f"| {e.id} | {LABELS[e.status]} | {points(e.score)} / {points(e.max_score)} |"
            for e in result.exercises]
    for ex in result.exercises:
        if ex.status in (ExerciseStatus.PASSED, ExerciseStatus.NOT_STARTED):
            continue
        out += ["", f"## {ex.id}: {ex.title}", ""]
        if ex.error:
            out += ["```", ex.error, "```"]
            continue
        out += ["```", *exercise_detail(ex, verbose=False), "```"]
    out += ["", "---", *[f"_{n}_  " for n in result.notes],
            f"_seed {result.environment.get('seed')}, grader {result.environment.get('grader_version')}_"]
    return "\n".join(out) + "\n"
