"""The class's gradebook: one CSV row per submission, built from the result documents.

Columns: ``submission,status,score,max_score``, one column per exercise (that exercise's
points), then ``reason`` and the columns an LMS or a spreadsheet needs: ``student_id``,
``name``, ``email`` (from the roster), ``percentage``, ``automatic_score`` (the grader's, before
overrides), ``adjustment`` (what the overrides changed), ``late_days``, ``late_penalty``
(points), ``submitted_at``, ``graded_at``, then one ``max_<exercise>`` column per exercise.
``score`` is the final score: the automatic one, with the overrides, less the late penalty;
``max_score`` is the assignment's maximum. Status of a row:

- ``ok``          graded; at least one exercise started (scores say how well)
- ``not_started`` graded; every exercise still raises ``NotImplementedError``, or has no file
                  (``reason`` then names what the submission holds)
- ``error``       the submission, or one of its exercises, could not be graded: unreadable
                  (corrupt zip, no Python files), a module that does not import, a worker that
                  died, or a run past the per-submission time limit; ``reason`` says which.
                  Whatever could be graded still counts in the scores.

Every text cell goes through ``text.csv_cell``: a submission name, an error message or a
roster entry that starts like a formula is never evaluated by a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Iterable, Sequence

from grader.files import write_text
from grader.report.final import Final, finalize
from grader.report.terminal import points
from grader.report.text import csv_cell
from grader.results import ExerciseStatus, Submission
from grader.truncation import GRADEBOOK_REASON_CHARS

HEAD = ("submission", "status", "score", "max_score")
TAIL = ("reason", "student_id", "name", "email", "percentage", "automatic_score", "adjustment",
        "late_days", "late_penalty", "submitted_at", "graded_at")
MAX_PREFIX = "max_"
OK, NOT_STARTED, ERROR = "ok", "not_started", "error"
STATUSES = (OK, NOT_STARTED, ERROR)
MISSING_PREFIX = "no file for "      # the intake's note about exercises without a file


def row_status(result: Submission) -> tuple[str, str]:
    """The row's status and, for ``error``, a one-line reason."""
    if result.error:
        return ERROR, _one_line(result.error)
    broken = [e for e in result.exercises if e.status is ExerciseStatus.ERROR]
    if broken:
        return ERROR, "; ".join(f"{e.id}: {_one_line(e.error or 'could not be graded')}" for e in broken)
    if result.exercises and all(e.status is ExerciseStatus.NOT_STARTED for e in result.exercises):
        missing = [n for n in result.notes if n.startswith(MISSING_PREFIX)]
        return NOT_STARTED, _one_line(missing[0]) if missing else ""
    return OK, ""


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    cut = GRADEBOOK_REASON_CHARS
    return line if len(line) <= cut else line[:cut - 3] + "..."


def exercise_columns(results: Iterable[Submission]) -> list[str]:
    """Every exercise any result has, in teaching order: the order of the ids (exNN_...)."""
    return sorted({e.id for r in results for e in r.exercises})


def maxima(results: Iterable[Submission]) -> dict[str, float]:
    """Each exercise's maximum, from any result that has it: the assignment's, in every row."""
    found: dict[str, float] = {}
    for r in results:
        for e in r.exercises:
            found[e.id] = max(found.get(e.id, 0.0), e.max_score)
    return dict(sorted(found.items()))


def as_finals(items: Sequence["Submission | Final"]) -> list[Final]:
    return sorted((i if isinstance(i, Final) else finalize(i) for i in items), key=lambda f: f.name)


def render_csv(items: Sequence["Submission | Final"]) -> str:
    finals = as_finals(items)
    most = maxima(f.result for f in finals)
    columns = list(most)
    total = round(sum(most.values()), 6)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*HEAD, *columns, *TAIL, *(MAX_PREFIX + c for c in columns)])
    for f in finals:
        status, reason = row_status(f.result)
        who = f.learner
        env = f.result.environment
        late = f.lateness
        writer.writerow([
            csv_cell(f.name), status, points(f.score), points(total),
            *(points(f.exercise_scores[c]) if c in f.exercise_scores else "" for c in columns),
            csv_cell(reason), *(csv_cell(getattr(who, k, "") or "") for k in ("student_id", "name", "email")),
            f"{100 * f.score / total:.2f}" if total else "", points(f.automatic),
            points(round(f.adjusted - f.automatic, 6)), late.days if late else "",
            points(f.late_penalty), csv_cell(_submitted(f)),
            csv_cell(env.get("graded_at") or ""), *(points(most[c]) for c in columns)])
    return out.getvalue()


def _submitted(f: Final) -> str:
    """When it was handed in: the late policy's time, else the roster's, else the files'."""
    if f.lateness is not None:
        return f.lateness.submitted_at.isoformat(timespec="seconds")
    if f.learner is not None and f.learner.submitted_at is not None:
        return f.learner.submitted_at.isoformat(timespec="seconds")
    return str(f.result.environment.get("submitted_at") or "")


def write(path: Path, items: Sequence["Submission | Final"]) -> None:
    write_text(path, render_csv(items))


def read_result(path: Path) -> Submission | None:
    """A result document, or None when it is missing or unreadable (then it is graded again)."""
    try:
        return Submission.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
