"""The class's outputs from results (no grading): overrides and the late policy, the roster,
the gradebook's columns, the Canvas and generic exports read back with the csv module, the
class page (escaping, flags, its own script only), and the markers it reads flags by."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import re

import pytest

from grader.instructor.batch import PAST_LIMIT
from grader.instructor.class_files import ClassFileError, learner_for, read_overrides, read_roster
from grader.report import class_data, exports, gradebook, summary
from grader.report.final import Learner, Override, finalize, late_by
from grader.report.markdown import CHANGES, markdown
from grader.results import Check, CheckKind, CheckStatus, Exercise, Submission, Timing
from kit_files import ROOT

UTC = dt.timezone.utc
DUE = dt.datetime(2025, 3, 14, 23, 59, tzinfo=UTC)


def check(cid: str, status: str = "passed", points: float = 1.0, max_points: float = 1.0, **kw) -> Check:
    return Check(cid, kw.pop("kind", CheckKind.CORRECTNESS), CheckStatus(status), max_points, points, **kw)


def result(name: str, *, ex03: list[Check] | None = None, error: str | None = None, **env) -> Submission:
    ex03 = ex03 if ex03 is not None else [check("matvec_lesson_example"), check("matmul_lesson_example", "failed", 0.0, 2.0)]
    return Submission(name, [Exercise("ex01_vectors", "Vectors", [check("dot_lesson_example", points=3.0, max_points=3.0)]),
                             Exercise("ex03_matmul", "Matmul", ex03)],
                      environment={"seed": 0, "graded_at": "2025-03-15T10:00:00+00:00", **env}, error=error)


def test_overrides_set_points_of_a_check_or_an_exercise_and_never_pass_the_maximum():
    r = result("alice")
    f = finalize(r, overrides=[Override("alice", "ex03_matmul/matmul_lesson_example", 2, "checked by hand", 2),
                               Override("alice", "ex01_vectors", 1, "copied", 3),
                               Override("bob", "ex01_vectors", 0, "not mine", 4),
                               Override("alice", "ex03_matmul/nope", 1, "typo", 5),
                               Override("alice", "ex01_vectors/dot_lesson_example", 9, "too much", 6)])
    assert r.score == 4 and f.automatic == 4
    assert f.exercise_scores == {"ex01_vectors": 1, "ex03_matmul": 3} and f.score == 4
    assert [a.target for a in f.applied] == ["ex03_matmul/matmul_lesson_example",
                                             "ex01_vectors/dot_lesson_example", "ex01_vectors"]
    assert any("line 5" in p and "ex03_matmul/nope" in p for p in f.problems)
    assert any("line 6" in p and "maximum is 3" in p for p in f.problems)


@pytest.mark.parametrize("submitted, days, fraction", [
    (DUE, 0, 0.0), (DUE + dt.timedelta(minutes=1), 1, 0.1), (DUE + dt.timedelta(days=2, hours=1), 3, 0.3),
    (DUE + dt.timedelta(days=30), 30, 0.5)])
def test_the_late_policy_counts_started_days_up_to_the_cap(submitted, days, fraction):
    late = late_by(submitted, "the roster", due=DUE, per_day=0.1, cap=0.5)
    assert (late.days, late.fraction) == (days, fraction)
    f = finalize(result("alice"), lateness=late)
    assert f.late_penalty == pytest.approx(4 * fraction) and f.score == pytest.approx(4 * (1 - fraction))


def test_feedback_shows_the_overrides_and_the_late_penalty():
    late = late_by(DUE + dt.timedelta(hours=30), "the roster's submitted_at", due=DUE, per_day=0.1, cap=None)
    f = finalize(result("alice"), overrides=[Override("alice", "ex03_matmul", 3, "regrade request", 2)],
                 lateness=late)
    text = markdown(f.result, f)
    assert "**Score: 4.8 / 6**" in text and "Graded automatically: 4 / 6." in text
    assert CHANGES in text and "`ex03_matmul`: 1 → 3 of 3 points. `regrade request`" in text
    assert "2 days after the due date 2025-03-14 23:59 UTC: 20% of the score taken off (10% a day), -1.2 points" in text


def test_the_roster_reads_a_canvas_export_and_matches_canvas_named_submissions(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text('Student,ID,SIS User ID,SIS Login ID,Section,Homework 1 (55)\n'
                    '    Points Possible,,,,,10\n"Smith, John",1234,S001,jsmith,A,\n')
    roster = read_roster(path)
    who = learner_for("smithjohn_1234", roster)
    assert (who.name, who.canvas_id, who.student_id, who.login_id) == ("Smith, John", "1234", "S001", "jsmith")
    path.write_text("submission,id,email\nalice,77,a@x.org\n")     # not a Canvas export: "id" is no Canvas id
    assert read_roster(path)["alice"].canvas_id == ""
    path.write_text("submission,student_id,email,submitted_at\nalice,S9,a@x.org,not a time\n")
    with pytest.raises(ClassFileError, match="line 2: submitted_at 'not a time'"):
        read_roster(path)


def test_overrides_need_a_target_points_and_a_reason(tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_text("submission,target,points,reason\nalice,ex03_matmul/matmul_lesson_example,2,ok\n")
    assert read_overrides(path) == [Override("alice", "ex03_matmul/matmul_lesson_example", 2.0, "ok", 2)]
    for bad, why in (("alice,matmul,2,ok", "target 'matmul'"), ("alice,ex03_matmul,-1,ok", "points '-1'"),
                     ("alice,ex03_matmul,1,", "a reason is required")):
        path.write_text(f"submission,target,points,reason\n{bad}\n")
        with pytest.raises(ClassFileError, match=re.escape(why)):
            read_overrides(path)


def test_the_canvas_export_reads_back_with_ids_maxima_and_final_scores():
    finals = [finalize(result("alice"), learner=Learner("alice", "S001", "Alice A", "a@x.org", "alice1", "A", "11")),
              finalize(result("=cmd|' /C calc'!A0"), learner=Learner("x", "S002", "=HYPERLINK(1)", section="B")),
              finalize(result("bob"))]
    text, missing = exports.canvas_csv(finals, "Homework 2 (12345)")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [*exports.CANVAS_HEAD, "Homework 2 (12345)"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][-1] == "6"
    assert rows[2] == ["'=HYPERLINK(1)", "", "S002", "", "B", "4"]
    assert rows[3] == ["Alice A", "11", "S001", "alice1", "A", "4"]
    assert missing == ["bob"]
    generic = list(csv.reader(io.StringIO(exports.generic_csv(finals, "HW2"))))
    assert generic[0] == [*exports.GENERIC_HEAD, "HW2 (max 6)", "ex01_vectors (max 3)", "ex03_matmul (max 3)",
                          exports.LATE_COLUMN]
    assert generic[1][3] == "'=cmd|' /C calc'!A0" and generic[2][:5] == ["a@x.org", "S001", "Alice A", "alice", "4"]


def test_every_text_cell_of_the_gradebook_is_neutralised():
    r = result("@SUM(A1)", error="=1+2 could not be read")
    rows = list(csv.reader(io.StringIO(gradebook.render_csv([r]))))
    assert rows[1][0] == "'@SUM(A1)" and rows[1][rows[0].index("reason")].startswith("'=1+2")
    assert rows[0][-2:] == ["max_ex01_vectors", "max_ex03_matmul"] and rows[1][-2:] == ["3", "3"]


def test_the_class_page_escapes_learner_text_and_runs_only_its_own_script():
    timing = Timing(0.02, 0.01, 2.0, 6.0, 3, "torch.cdist")
    hostile = "<img src=x onerror=alert(1)>"
    page = summary.render([
        result(hostile, error=PAST_LIMIT.format(limit=12)),
        result("carol", ex03=[check("matvec_lesson_example", "timeout", 0.0, feedback="timed out"),
                              check("matmul_speed", "passed", kind=CheckKind.TIMING, timing=timing),
                              check("matmul_lesson_example", "error", 0.0,
                                    feedback="the worker died (memory limit of 2048 MiB exceeded)")]),
        result("dave", ex03=[check("matvec_lesson_example", "error", 0.0,
                                   feedback="line 3: `import os` is not allowed in these exercises")])])
    assert hostile not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="feedback/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.md"' in page
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert scripts == [summary.SCRIPT]
    digest = base64.b64encode(hashlib.sha256(summary.SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page and "default-src 'none'" in page
    for flag in ("time limit", "hang", "memory", "refused"):
        assert f'<span class="flag flag-{flag.replace(" ", "-")}">{flag}</span>' in page
    assert "ex03_matmul/matmul_speed" in page and "Speed of the learners" not in page   # alt text only
    assert '<table class="sortable">' in page and 'data-v="' in page


def test_the_flag_markers_are_the_grader_s_own_wording():
    assert class_data.PAST_LIMIT_MARK in PAST_LIMIT
    from grader.checks.policy.rules import REFUSED as POLICY
    from grader.isolation.lock import REFUSED as LOCK
    assert class_data.REFUSED_MARK in POLICY and class_data.REFUSED_MARK in LOCK
    assert class_data.MEMORY_MARK in (ROOT / "grader" / "isolation" / "client.py").read_text()
