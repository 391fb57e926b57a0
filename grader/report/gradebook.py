"""The class's gradebook: one CSV row per submission, built from the result documents.

Columns: ``submission,status,score,max_score``, one column per exercise (that exercise's score),
then ``reason`` (empty unless the status is ``error``). Status of a row:

- ``ok``          graded; at least one exercise started (scores say how well)
- ``not_started`` graded; every exercise still raises ``NotImplementedError``
- ``error``       the submission, or one of its exercises, could not be graded: unreadable
                  (corrupt zip, no Python files), a module that does not import, a worker that
                  died, or a run past the per-submission time limit; ``reason`` says which.
                  Whatever could be graded still counts in the scores.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Iterable

from grader.files import write_text
from grader.report.terminal import points
from grader.results import ExerciseStatus, Submission
from grader.truncation import GRADEBOOK_REASON_CHARS

HEAD = ("submission", "status", "score", "max_score")
TAIL = ("reason",)
OK, NOT_STARTED, ERROR = "ok", "not_started", "error"
STATUSES = (OK, NOT_STARTED, ERROR)


def row_status(result: Submission) -> tuple[str, str]:
    """The row's status and, for ``error``, a one-line reason."""
    if result.error:
        return ERROR, _one_line(result.error)
    broken = [e for e in result.exercises if e.status is ExerciseStatus.ERROR]
    if broken:
        return ERROR, "; ".join(f"{e.id}: {_one_line(e.error or 'could not be graded')}" for e in broken)
    if result.exercises and all(e.status is ExerciseStatus.NOT_STARTED for e in result.exercises):
        return NOT_STARTED, ""
    return OK, ""


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    cut = GRADEBOOK_REASON_CHARS
    return line if len(line) <= cut else line[:cut - 3] + "..."


def exercise_columns(results: Iterable[Submission]) -> list[str]:
    """Every exercise any result has, in teaching order: the order of the ids (exNN_...)."""
    return sorted({e.id for r in results for e in r.exercises})


def render_csv(results: list[Submission]) -> str:
    results = sorted(results, key=lambda r: r.submission)
    columns = exercise_columns(results)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*HEAD, *columns, *TAIL])
    for r in results:
        status, reason = row_status(r)
        by_id = {e.id: e for e in r.exercises}
        writer.writerow([r.submission, status, points(r.score), points(r.max_score),
                         *(points(by_id[c].score) if c in by_id else "" for c in columns), reason])
    return out.getvalue()


def write(path: Path, results: list[Submission]) -> None:
    write_text(path, render_csv(results))


def read_result(path: Path) -> Submission | None:
    """A result document, or None when it is missing or unreadable (then it is graded again)."""
    try:
        return Submission.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
