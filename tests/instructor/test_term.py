"""The instructor's term, end to end through `grader batch` / `grader merge`: roster and
exports an LMS takes, overrides and late work in the gradebook and the feedback, --only and
results/history/, resume that regrades after any grader change, merge of runs of different
exercises, file modes, and shards run as separate processes (a job array) merged to the
single run's gradebook. ex01 only, without timing."""

from __future__ import annotations

import csv
import io
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from classroom import write_submission
from kit_files import ROOT
from suite_modules import maximum

EX01_MAX = maximum("ex01_vectors")   # the points ex01 is worth, as its suite gives them
MAX = f"{EX01_MAX:g}"

pytestmark = pytest.mark.slow
LIMITS = ["--no-timing", "--call-timeout", "2", "--jobs", "2"]


def grader(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def table(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


def rows(out: Path, *, timeless: bool = False) -> dict[str, dict[str, str]]:
    found = {r["submission"]: r for r in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))}
    for row in found.values() if timeless else ():
        row.pop("graded_at")
    return found


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    """A class of four graded with a roster, overrides and a due date long past."""
    tmp = tmp_path_factory.mktemp("term")
    subs = tmp / "subs"
    for name, kind in (("alice", "correct"), ("bob", "wrong_dot"), ("carol", "not_started"),
                       ("dave", "correct")):
        write_submission(subs, kind, name)
    course = tmp / "course.toml"
    course.write_text('[assignment]\nname = "Homework 1"\n\n[late]\n'
                      "due = 2025-03-14T23:59:00+00:00\nlate_penalty_per_day = 0.1\nlate_cap = 0.5\n")
    (tmp / "roster.csv").write_text(
        "submission,student_id,name,email,canvas_id,submitted_at\n"
        "alice,S001,Alice Adams,alice@uni.example,101,2025-03-14T20:00:00+00:00\n"
        "bob,S002,Bob Brown,bob@uni.example,102,2025-03-16T08:00:00+00:00\n"
        "carol,S003,Carol Chen,carol@uni.example,,2025-03-14T23:00:00+00:00\n")
    (tmp / "overrides.csv").write_text(
        "submission,target,points,reason\n"
        "bob,ex01_vectors/dot_lesson_example,1,the test case was ambiguous (checked by hand)\n")
    out = tmp / "out"
    done = grader("batch", str(subs), "ex01", "--out", str(out), "--roster", str(tmp / "roster.csv"),
                  "--overrides", str(tmp / "overrides.csv"), "--course", str(course), *LIMITS)
    return tmp, subs, out, course, done


def test_the_canvas_export_imports_back_with_ids_maxima_and_scores(term):
    tmp, _, out, _, done = term
    canvas = table(out / "exports" / "canvas.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Homework 1"]
    assert canvas[1][0].strip() == "Points Possible" and canvas[1][5] == MAX
    body = {r[0]: r for r in canvas[2:]}
    assert set(body) == {"Alice Adams", "Bob Brown", "Carol Chen"}       # dave: no id to match
    assert body["Alice Adams"][1:5] == ["101", "S001", "", ""] and body["Alice Adams"][5] == MAX
    book = rows(out)
    assert body["Bob Brown"][5] == book["bob"]["score"]
    assert "leaves out 1 submission(s)" in done.stderr and "dave" in done.stderr
    generic = table(out / "exports" / "grades.csv")
    assert generic[0][:6] == ["Email address", "ID number", "Full name", "Submission",
                              f"Homework 1 (max {MAX})", f"ex01_vectors (max {MAX})"]


def test_overrides_and_late_penalties_show_in_gradebook_and_feedback(term):
    _, _, out, _, _ = term
    book = rows(out)
    alice, bob = book["alice"], book["bob"]
    assert (alice["student_id"], alice["email"], alice["late_days"], alice["late_penalty"]) == \
        ("S001", "alice@uni.example", "0", "0")
    assert alice["score"] == MAX and alice["percentage"] == "100.00" and alice["max_ex01_vectors"] == MAX
    # bob: one point back by hand, then 2 days late at 10 % a day
    automatic = float(bob["automatic_score"])
    assert float(bob["adjustment"]) == 1 and bob["late_days"] == "2"
    assert float(bob["late_penalty"]) == pytest.approx(0.2 * (automatic + 1))
    assert float(bob["score"]) == pytest.approx(0.8 * (automatic + 1))
    assert float(bob["ex01_vectors"]) == automatic + 1
    feedback = (out / "feedback" / "bob.md").read_text()
    assert "## Changes by your instructor" in feedback and "`the test case was ambiguous (checked by hand)`" in feedback
    assert "## Late work" in feedback and "2 days after the due date 2025-03-14 23:59 UTC" in feedback
    assert f"**Score: {bob['score']} / {MAX}**" in feedback
    assert book["dave"]["late_days"] != "" and "Graded" in (out / "feedback" / "dave.md").read_text()


def test_only_regrades_one_learner_and_history_keeps_the_earlier_result(term):
    tmp, subs, out, course, _ = term
    (subs / "bob" / "ex01_vectors.py").write_text((ROOT / "solutions" / "ex01_vectors.py").read_text())
    before = rows(out, timeless=True)
    done = grader("batch", str(subs), "ex01", "--out", str(out), "--only", "bob",
                  "--roster", str(tmp / "roster.csv"), "--overrides", str(tmp / "overrides.csv"),
                  "--course", str(course), *LIMITS)
    assert "1 graded now, 3 from an earlier run" in done.stdout
    after = rows(out, timeless=True)
    assert {n: r for n, r in after.items() if n != "bob"} == {n: r for n, r in before.items() if n != "bob"}
    assert float(after["bob"]["automatic_score"]) == EX01_MAX
    history = list((out / "results" / "history" / "bob").glob("*.json"))
    assert len(history) == 1 and '"submission": "bob"' in history[0].read_text()
    page = (out / "summary.html").read_text()
    assert "Changed by a regrade (1)" in page


def test_files_are_readable_by_the_group_only(term):
    _, _, out, _, _ = term
    for path in [out / "gradebook.csv", out / "summary.html", out / "exports" / "canvas.csv",
                 out / "results" / "alice.json", out / "feedback" / "alice.md"]:
        st = path.stat()
        assert stat.S_IMODE(st.st_mode) == 0o640, path
        assert st.st_gid == path.parent.stat().st_gid
    for folder in (out, out / "results", out / "feedback", out / "exports"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o750, folder


def test_merge_of_runs_of_different_exercises_keeps_every_column(tmp_path):
    subs = tmp_path / "subs"
    for name in ("alice", "bob"):
        write_submission(subs, "correct", name)
        shutil.copy(ROOT / "solutions" / "ex05_health_states.py", subs / name)
    grader("batch", str(subs), "ex01", "--out", str(tmp_path / "a"), *LIMITS)
    grader("batch", str(subs), "ex05", "--out", str(tmp_path / "b"), *LIMITS)
    grader("merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "all"))
    book = rows(tmp_path / "all")
    assert {"ex01_vectors", "ex05_health_states"} <= set(book["alice"])
    assert float(book["alice"]["ex01_vectors"]) == EX01_MAX and float(book["alice"]["ex05_health_states"]) > 0
    assert float(book["alice"]["score"]) == float(book["alice"]["max_score"])


def test_three_shards_as_separate_processes_merge_to_the_single_run(tmp_path):
    subs = tmp_path / "subs"
    for i, kind in enumerate(["correct", "wrong_dot", "not_started", "correct_zip", "syntax_error",
                              "uses_linalg_norm", "correct_nested_folder"]):
        write_submission(subs, kind, f"s{i}")
    whole = tmp_path / "whole"
    grader("batch", str(subs), "ex01", "--out", str(whole), *LIMITS)
    # A job array: each task runs one shard with K from the engine's index (here SHARD_INDEX).
    script = ('exec "$PY" -m grader batch "$SUBS" ex01 --out "$OUT/shard-$SHARD_INDEX" '
              '--shard "$SHARD_INDEX/3" --no-timing --jobs 1')
    tasks = [subprocess.Popen(["bash", "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "PY": sys.executable, "SUBS": str(subs),
                                   "OUT": str(tmp_path), "SHARD_INDEX": str(k)}) for k in (1, 2, 3)]
    for task in tasks:
        _, err = task.communicate(timeout=600)
        assert task.returncode == 0, err
    grader("merge", *(str(tmp_path / f"shard-{k}") for k in (1, 2, 3)), "--out", str(tmp_path / "merged"))
    assert rows(tmp_path / "merged", timeless=True) == rows(whole, timeless=True)


def test_a_changed_grader_file_regrades_everything(tmp_path):
    kit = tmp_path / "kit"
    for name in ("grader", "baselines", "exercises", "solutions", "data"):
        shutil.copytree(ROOT / name, kit / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("course.toml", "pyproject.toml"):
        shutil.copy(ROOT / name, kit / name)
    subs = tmp_path / "subs"
    for name, kind in (("alice", "correct"), ("bob", "not_started")):
        write_submission(subs, kind, name)
    env = {**os.environ, "PYTHONPATH": str(kit)}
    out = tmp_path / "out"
    grader("batch", str(subs), "ex01", "--out", str(out), *LIMITS, cwd=kit, env=env)
    again = grader("batch", str(subs), "ex01", "--out", str(out), *LIMITS, cwd=kit, env=env)
    assert "0 graded now, 2 from an earlier run" in again.stdout
    plugin = kit / "grader" / "engine" / "plugin.py"
    old = 'NOT_STARTED = "not started: {function} still raises NotImplementedError"'
    assert old in plugin.read_text()
    plugin.write_text(plugin.read_text().replace(old, old.replace("not started:", "not started yet:")))
    third = grader("batch", str(subs), "ex01", "--out", str(out), *LIMITS, cwd=kit, env=env)
    assert "2 graded now, 0 from an earlier run" in third.stdout
    assert "not started yet: dot still raises" in (out / "results" / "bob.json").read_text()
