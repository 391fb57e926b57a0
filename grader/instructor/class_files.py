"""The instructor's files beside a batch: the roster and the overrides (both CSV).

``roster.csv`` says who each submission is: a ``submission`` column (the name in the
gradebook) and any of ``student_id`` (the SIS id), ``name``, ``email``, ``login_id``,
``section``, ``canvas_id`` and ``submitted_at`` (ISO 8601, for the late policy). Canvas's own
gradebook export works as it is ("Student", "ID", "SIS User ID", "SIS Login ID", "Section"):
its rows are matched to Canvas-named submissions (``smithjohn_1234``) by the user id. A bare
``id`` column is taken as Canvas's only beside "SIS User ID" (as in Canvas's export); elsewhere
it is ignored, never guessed.

``overrides.csv`` has one change per line: ``submission``, ``target`` (an exercise,
``ex03_matmul``, or one check, ``ex03_matmul/matmul_lesson_example``), ``points`` (the new
points, 0 up to the maximum) and ``reason`` (shown to the learner). Both files are read on
every run. A malformed line is a ``ClassFileError`` naming the file and the line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

from grader.engine.intake import read_capped
from grader.errors import SubmissionError
from grader.report.final import Learner, Override

MAX_BYTES = 16 << 20
ROSTER_COLUMNS = {   # a header, lower-cased, spaces and dashes as "_" -> the field
    "submission": "submission", "folder": "submission", "file": "submission",
    "student_id": "student_id", "sis_user_id": "student_id", "id_number": "student_id",
    "idnumber": "student_id", "name": "name", "student": "name", "full_name": "name",
    "email": "email", "email_address": "email", "login_id": "login_id",
    "sis_login_id": "login_id", "username": "login_id", "section": "section",
    "canvas_id": "canvas_id", "submitted_at": "submitted_at",
}
CANVAS_HEADER = "sis_user_id"      # beside it (a Canvas export), "ID" is Canvas's own user id
OVERRIDE_COLUMNS = {"submission": "submission", "target": "target", "check": "target",
                    "exercise": "target", "check_or_exercise": "target", "points": "points",
                    "reason": "reason"}
TARGET = re.compile(r"ex\d\d_\w+(?:/\w+)?")
CANVAS_USER = re.compile(r"_(\d+)$")


class ClassFileError(ValueError):
    """A roster or overrides file that cannot be used: the message names the file and line."""


def _rows(path: Path, columns: dict[str, str], required: tuple[str, ...]) -> list[tuple[int, dict]]:
    try:
        text = read_capped(Path(path), MAX_BYTES).decode("utf-8-sig")
    except (SubmissionError, UnicodeDecodeError) as exc:
        raise ClassFileError(f"{path}: cannot be read ({exc})") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    keys = [re.sub(r"[\s-]+", "_", h.strip().lower()) for h in header]
    canvas = CANVAS_HEADER in keys and "canvas_id" not in keys
    fields = [columns.get(k, "canvas_id" if k == "id" and canvas and columns is ROSTER_COLUMNS else None)
              for k in keys]
    missing = [c for c in required if c not in fields]
    if missing:
        raise ClassFileError(f"{path}: no {' or '.join(missing)} column (the header is "
                             f"{', '.join(header) or 'empty'})")
    rows = []
    for line, cells in enumerate(reader, 2):
        row = {f: c.strip() for f, c in zip(fields, cells) if f}
        if any(row.values()):
            rows.append((line, row))
    return rows


def read_roster(path: Path) -> dict[str, Learner]:
    """Learners by submission name (and by ``canvas:<user id>`` where the roster has Canvas ids)."""
    rows = _rows(path, ROSTER_COLUMNS, ())
    learners: dict[str, Learner] = {}
    for line, row in rows:
        if "points possible" in row.get("name", "").lower():
            continue              # the second row of a Canvas export
        when = None
        if row.get("submitted_at"):
            try:
                when = dt.datetime.fromisoformat(row["submitted_at"])
            except ValueError:
                raise ClassFileError(f"{path} line {line}: submitted_at {row['submitted_at']!r} "
                                     "is not an ISO 8601 time (2025-03-14T23:59:00+01:00)") from None
        learner = Learner(**{**{k: v for k, v in row.items() if k != "submitted_at"}, "submitted_at": when})
        if not learner.submission and not learner.canvas_id:
            raise ClassFileError(f"{path} line {line}: neither a submission name nor a Canvas ID")
        if learner.submission:
            learners[learner.submission] = learner
        if learner.canvas_id:
            learners[f"canvas:{learner.canvas_id}"] = learner
    return learners


def learner_for(name: str, roster: dict[str, Learner]) -> Learner | None:
    """The roster's row for a submission; a Canvas-named one (``smithjohn_1234``) also by its
    user id, and without a roster row it still has that id."""
    if name in roster:
        return roster[name]
    canvas = CANVAS_USER.search(name)
    if canvas and f"canvas:{canvas.group(1)}" in roster:
        return roster[f"canvas:{canvas.group(1)}"]
    return None


def read_overrides(path: Path) -> list[Override]:
    overrides = []
    for line, row in _rows(path, OVERRIDE_COLUMNS, ("submission", "target", "points", "reason")):
        where = f"{path} line {line}"
        if not TARGET.fullmatch(row.get("target", "")):
            raise ClassFileError(f"{where}: target {row.get('target')!r} is an exercise "
                                 "(ex03_matmul) or a check (ex03_matmul/matmul_lesson_example)")
        try:
            points = float(row.get("points", ""))
        except ValueError:
            points = -1.0
        if not points >= 0:
            raise ClassFileError(f"{where}: points {row.get('points')!r} is not a number, 0 or more")
        if not row.get("reason"):
            raise ClassFileError(f"{where}: a reason is required (the learner reads it)")
        overrides.append(Override(row["submission"], row["target"], points, row["reason"], line))
    return overrides
