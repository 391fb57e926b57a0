"""The gradebook in the formats instructors upload: Canvas's gradebook import and a generic
CSV that Moodle's "Import grades: CSV file" (and any spreadsheet) takes.

Canvas (``exports/canvas.csv``): the columns of Canvas's own gradebook export, "Student",
"ID" (Canvas's user id), "SIS User ID", "SIS Login ID", "Section", then one column for the
assignment, named "Name (id)" to update an existing assignment or just "Name" to create one,
and a second row "Points Possible" holding its maximum. Canvas matches a row by ID, SIS User
ID or SIS Login ID, so rows without any of them (no roster entry, not a Canvas-named
submission) are left out and listed (``missing``).

Generic (``exports/grades.csv``): "Email address", "ID number", "Full name", "Submission", the
total and one column per exercise, each header stating its maximum ("ex03_matmul (max 25)"),
then the late penalty. Moodle maps the identifier column to a user field (email address or
ID number) and each grade column to a grade item on import.

Every text cell goes through ``text.csv_cell``; scores are the final ones (``final.py``).
"""

from __future__ import annotations

import csv
import io
from typing import Sequence

from grader.report.final import Final
from grader.report.gradebook import maxima
from grader.report.terminal import points
from grader.report.text import csv_cell

CANVAS_HEAD = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"
GENERIC_HEAD = ("Email address", "ID number", "Full name", "Submission")
WITH_MAX = "{name} (max {max})"
LATE_COLUMN = "Late penalty (points)"
DEFAULT_ASSIGNMENT = "linalg-kit"


def canvas_csv(finals: Sequence[Final], assignment: str) -> tuple[str, list[str]]:
    """The Canvas import file and the submissions left out (no id Canvas can match)."""
    most = maxima(f.result for f in finals)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CANVAS_HEAD, csv_cell(assignment)])
    writer.writerow([POINTS_POSSIBLE, "", "", "", "", points(round(sum(most.values()), 6))])
    missing = []
    for f in sorted(finals, key=lambda f: f.name):
        who = f.learner
        ids = (who.canvas_id, who.student_id, who.login_id) if who else ("", "", "")
        if not any(ids):
            missing.append(f.name)
            continue
        writer.writerow([csv_cell(who.name or f.name), *(csv_cell(i) for i in ids),
                         csv_cell(who.section), points(f.score)])
    return out.getvalue(), missing


def generic_csv(finals: Sequence[Final], assignment: str) -> str:
    most = maxima(f.result for f in finals)
    total = round(sum(most.values()), 6)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*GENERIC_HEAD, csv_cell(WITH_MAX.format(name=assignment, max=points(total))),
                     *(WITH_MAX.format(name=ex, max=points(m)) for ex, m in most.items()), LATE_COLUMN])
    for f in sorted(finals, key=lambda f: f.name):
        who = f.learner
        writer.writerow([*(csv_cell(getattr(who, k, "") or "") for k in ("email", "student_id", "name")),
                         csv_cell(f.name), points(f.score),
                         *(points(f.exercise_scores[ex]) if ex in f.exercise_scores else "" for ex in most),
                         points(f.late_penalty)])
    return out.getvalue()
