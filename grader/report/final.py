"""A graded submission as the class's outputs show it: the grader's result, then the
instructor's overrides and the late policy, with the learner's identity from the roster.

The result document on disk stays what the grader found (``results/<name>.json``); the
gradebook, the exports, the feedback and the class page show ``Final``: the same result with
every override applied (a check's or an exercise's points set by hand, with a reason the
learner reads) and the late penalty taken off the total. Overrides and the due date are
applied afresh on every run, so changing them never needs a regrade and a regrade never loses
them. Pure arithmetic on typed data: the instructor's files are read in ``instructor/``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Iterable

from grader.results import Submission

NO_EXERCISE = "overrides.csv line {line}: {submission} has no exercise {target} in this run"
NO_CHECK = "overrides.csv line {line}: {submission} has no check {target}"
TOO_MANY = "overrides.csv line {line}: {points:g} points for {target}, whose maximum is {max:g}"


@dataclass(frozen=True)
class Learner:
    """One roster row: who a submission belongs to."""

    submission: str = ""
    student_id: str = ""          # the SIS id
    name: str = ""
    email: str = ""
    login_id: str = ""
    section: str = ""
    canvas_id: str = ""           # Canvas's own user id ("ID" in its gradebook)
    submitted_at: dt.datetime | None = None


@dataclass(frozen=True)
class Override:
    submission: str
    target: str                   # "ex03_matmul" or "ex03_matmul/matmul_lesson_example"
    points: float
    reason: str
    line: int = 0                 # in overrides.csv, for messages


@dataclass(frozen=True)
class Applied:
    target: str
    before: float
    after: float
    max_points: float
    reason: str


@dataclass(frozen=True)
class Lateness:
    submitted_at: dt.datetime
    source: str                   # where the time was read: the roster, Gradescope, the files
    due: dt.datetime
    days: int                     # whole days late, started days counted (0: on time)
    fraction: float               # of the score taken off
    per_day: float
    cap: float | None


@dataclass
class Final:
    result: Submission
    learner: Learner | None = None
    applied: list[Applied] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)     # overrides that matched nothing
    exercise_scores: dict[str, float] = field(default_factory=dict)
    lateness: Lateness | None = None

    @property
    def name(self) -> str:
        return self.result.submission

    @property
    def automatic(self) -> float:
        return self.result.score

    @property
    def adjusted(self) -> float:
        return round(sum(self.exercise_scores.values()), 6)

    @property
    def late_penalty(self) -> float:
        return round(self.adjusted * self.lateness.fraction, 6) if self.lateness else 0.0

    @property
    def score(self) -> float:
        return round(self.adjusted - self.late_penalty, 6)

    @property
    def max_score(self) -> float:
        return self.result.max_score

    @property
    def percentage(self) -> float:
        return round(100 * self.score / self.max_score, 2) if self.max_score else 0.0


def finalize(result: Submission, *, learner: Learner | None = None,
             overrides: Iterable[Override] = (), lateness: Lateness | None = None) -> Final:
    """The result with ``overrides`` applied (checks first, then exercises; a later line for
    the same target wins) and ``lateness``'s penalty on the total."""
    final = Final(result, learner, exercise_scores={e.id: e.score for e in result.exercises},
                  lateness=lateness)
    exercises = {e.id: e for e in result.exercises}
    latest = {o.target: o for o in overrides if o.submission == result.submission}
    for o in sorted(latest.values(), key=lambda o: ("/" not in o.target, o.line)):
        ex_id, _, check_id = o.target.partition("/")
        ex = exercises.get(ex_id)
        if ex is None:
            final.problems.append(NO_EXERCISE.format(line=o.line, submission=o.submission, target=ex_id))
            continue
        if check_id:
            check = next((c for c in ex.checks if c.id == check_id), None)
            if check is None:
                final.problems.append(NO_CHECK.format(line=o.line, submission=o.submission, target=o.target))
                continue
            before, most = check.points, check.max_points
            after = o.points
            final.exercise_scores[ex_id] = round(final.exercise_scores[ex_id] + after - before, 6)
        else:
            before, most, after = final.exercise_scores[ex_id], ex.max_score, o.points
            final.exercise_scores[ex_id] = after
        if after > most:
            final.problems.append(TOO_MANY.format(line=o.line, points=after, target=o.target, max=most))
            final.exercise_scores[ex_id] = round(final.exercise_scores[ex_id] - after + most, 6)
            after = most
        final.applied.append(Applied(o.target, before, after, most, o.reason))
    return final


def late_by(submitted: dt.datetime | None, source: str, *, due: dt.datetime | None,
            per_day: float, cap: float | None) -> Lateness | None:
    """The late policy for one submission: ``per_day`` of the score for every started day
    after ``due``, at most ``cap`` in all. A naive time is the machine's local time."""
    if submitted is None or due is None:
        return None
    submitted, due = _aware(submitted), _aware(due)
    seconds = (submitted - due).total_seconds()
    days = max(0, math.ceil(seconds / 86400))
    fraction = min(days * per_day, cap if cap is not None else 1.0, 1.0)
    return Lateness(submitted, source, due, days, round(fraction, 6), per_day, cap)


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.astimezone()
