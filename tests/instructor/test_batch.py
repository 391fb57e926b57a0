"""Batch grading of a generated class: gradebook, results, feedback, summary, resume, kill -9,
shards and merge. Only ex01 is graded, without timing and with short time limits, so the
whole module stays well under a minute on two cores."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from classroom import make_class, write_submission
from grader.engine.timing_lock import exclusive_timing
from grader.instructor.batch import PAST_LIMIT, discover, shard
from grader.report import gradebook
from grader.report.text import markdown_inline
from grader.results import Submission
from kit_files import ROOT
from suite_modules import maximum

EX01_MAX = maximum("ex01_vectors")   # the points ex01 is worth, as its suite gives them

SUBMISSION_LIMIT = 12
LIMITS = ["--no-timing", "--call-timeout", "1", "--submission-timeout", str(SUBMISSION_LIMIT),
          "--jobs", "2"]
# The hanging import must meet the per-submission limit, not the (longer) import limit.
ENV = {**os.environ, "GRADER_IMPORT_TIMEOUT_S": "60"}

pytestmark = pytest.mark.slow


def grader(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=ENV, **kw)


def rows(out: Path, *, timeless: bool = False) -> dict[str, dict[str, str]]:
    """The gradebook's rows by submission; ``timeless``: without the time of grading, which
    differs between two gradings of the same submission."""
    text = (out / "gradebook.csv").read_text()
    found = {r["submission"]: r for r in csv.DictReader(io.StringIO(text))}
    for row in found.values() if timeless else ():
        row.pop("graded_at")
    return found


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    return folder, make_class(folder)


@pytest.fixture(scope="module")
def graded(klass, tmp_path_factory):
    folder, _ = klass
    out = tmp_path_factory.mktemp("out")
    done = grader("batch", str(folder), "ex01", "--out", str(out), *LIMITS)
    assert done.returncode == 0, done.stderr
    return out, done


def test_gradebook_has_the_right_row_for_every_kind_of_submission(klass, graded):
    folder, expected = klass
    out, done = graded
    assert len(expected) >= 60
    header = (out / "gradebook.csv").read_text().splitlines()[0]
    assert header == ",".join([*gradebook.HEAD, "ex01_vectors", *gradebook.TAIL, "max_ex01_vectors"])
    book = rows(out)
    # a non-zip file keeps its extension in its name; everything else is named by its stem
    names = {n if not n.endswith("not_python") else n + ".pdf" for n in expected}
    assert set(book) == names
    for name, kind in expected.items():
        row = book[name + ".pdf" if kind.name == "not_python" else name]
        got = f"{name}: {row}"
        assert row["status"] == kind.status, got
        score, max_score = float(row["score"]), float(row["max_score"])
        assert max_score == EX01_MAX and float(row["ex01_vectors"]) == score, got
        assert {"full": score == max_score, "zero": score == 0,
                "partial": 0 < score < max_score}[kind.score], got
        assert kind.reason in row["reason"], got
        assert (row["reason"] != "") == (kind.status == "error"), got
    assert f"{len(expected)} graded now, 0 from an earlier run" in done.stdout
    assert "per submission" in done.stdout          # the limits are printed
    assert f"[{len(expected)}/{len(expected)}]" in done.stderr   # plain progress lines (no TTY)


def test_hanging_functions_cost_only_their_own_checks_and_refused_code_never_runs(graded):
    out, _ = graded
    hang = Submission.from_dict(json.loads((out / "results" / "student_56_unit_hangs.json").read_text()))
    checks = {c.id: c for c in hang.exercises[0].checks}
    assert checks["unit_random_vectors"].status.value == "timeout"
    assert checks["dot_lesson_example"].status.value == "passed"
    refused = Submission.from_dict(json.loads((out / "results" / "student_58_cosine_refused.json").read_text()))
    checks = {c.id: c for c in refused.exercises[0].checks}
    assert {c.status.value for c in checks.values()} == {"error"}
    assert "ex01_vectors.py line" in checks["norm_lesson_example"].feedback
    assert "(`import os`) is not allowed in these exercises" in checks["norm_lesson_example"].feedback
    limit = json.loads((out / "results" / "student_59_import_hangs.json").read_text())
    assert limit["error"] == PAST_LIMIT.format(limit=SUBMISSION_LIMIT)
    assert limit["environment"]["elapsed_s"] >= SUBMISSION_LIMIT


def test_every_submission_has_its_result_document_and_feedback(klass, graded):
    out, _ = graded
    book = rows(out)
    for name in book:
        doc = json.loads((out / "results" / f"{name}.json").read_text())
        assert doc["schema"] == 1 and doc["submission"] == name
        assert doc["environment"]["suites_sha256"] and doc["environment"]["submission_sha256"]
        assert Submission.from_dict(doc).score == float(book[name]["score"])
        feedback = (out / "feedback" / f"{name}.md").read_text()
        assert feedback.startswith(f"# Feedback for {markdown_inline(name)}")
        assert "limits:" not in feedback and "isolation:" not in feedback   # the instructor's
    assert not list(out.rglob("*.tmp"))


def test_summary_is_one_self_contained_page(graded):
    out, _ = graded
    page = (out / "summary.html").read_text()
    assert page.count('src="data:image/png;base64,') == 2
    assert "src=\"http" not in page and "<link" not in page and page.count("<script") == 1
    assert "Content-Security-Policy" in page and "script-src 'sha256-" in page
    assert "Broken submissions (15)" in page   # 14 unreadable or erroring, 1 whose worker died
    for name in ("student_44_broken_zip", "student_59_import_hangs", "student_47_import_error"):
        assert name in page
    assert "Checks failed most often" in page and "unit_random_vectors" in page
    assert "Slowest submissions" in page


def test_rerun_skips_finished_submissions_and_keeps_the_gradebook(klass, graded):
    folder, expected = klass
    out, _ = graded
    before = (out / "gradebook.csv").read_bytes()
    again = grader("batch", str(folder), "ex01", "--out", str(out), *LIMITS)
    assert again.returncode == 0, again.stderr
    assert f"0 graded now, {len(expected)} from an earlier run" in again.stdout
    assert (out / "gradebook.csv").read_bytes() == before


def _children_of(out: Path, batch: int) -> list[int]:
    """The live processes grading into ``out`` besides the ``batch`` process: forked children
    keep the batch's own command line (``grader batch ... --out OUT``), started ones are
    ``grader.instructor.batch_child ... --out OUT``; either way the folder is an argument of
    theirs and of no other process."""
    wanted = {str(out).encode(), str(out.resolve()).encode()}
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) not in (os.getpid(), batch):
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if wanted & set(cmd):
                found.append(int(proc.name))
    return found


def test_kill_9_mid_batch_then_rerun_gives_the_same_gradebook(klass, graded, tmp_path):
    folder, expected = klass
    full, _ = graded
    out = tmp_path / "shard"
    cmd = [sys.executable, "-m", "grader", "batch", str(folder), "ex01", "--out", str(out),
           "--shard", "1/3", *LIMITS]
    first = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list((out / "results").glob("*.json"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    graded_before = len(list((out / "results").glob("*.json")))
    size = len(shard(discover(folder), 1, 3))
    assert 4 <= graded_before < size
    assert not (out / "gradebook.csv").exists()
    for path in (out / "results").glob("*.json"):
        json.loads(path.read_text())          # whole files only

    again = grader("batch", str(folder), "ex01", "--out", str(out), "--shard", "1/3", *LIMITS)
    assert again.returncode == 0, again.stderr
    assert f"{graded_before} from an earlier run" in again.stdout
    mine = rows(out, timeless=True)
    assert len(mine) == size
    assert mine == {n: r for n, r in rows(full, timeless=True).items() if n in mine}


@pytest.mark.parametrize("fork", ["1", "0"], ids=["forked", "started"])
def test_kill_9_of_the_batch_kills_its_grading_children(tmp_path, fork):
    # Two submissions whose import hangs (60 s here) keep both children busy: killed with the
    # batch, they are gone at once; left alone (no death with the parent) they would hang on.
    folder = tmp_path / "class"
    for name, kind in (("a_hangs", "import_hangs"), ("b_hangs", "import_hangs"), ("c_right", "correct")):
        write_submission(folder, kind, name)
    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-m", "grader", "batch", str(folder), "ex01",
                              "--out", str(out), *LIMITS], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env={**ENV, "GRADER_BATCH_FORK": fork})
    deadline = time.monotonic() + 60
    while len(_children_of(out, first.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    children = _children_of(out, first.pid)
    # Both are grading a hanging import (a short-lived helper a child forks, such as the one
    # that ends a worker's uid, has the same command line and may be seen too).
    assert len(children) >= 2, children
    time.sleep(0.5)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    deadline = time.monotonic() + 5
    while _children_of(out, first.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _children_of(out, first.pid) == [], "grading children outlived the killed batch"


def test_merge_of_shards_equals_the_whole_batch(graded, tmp_path):
    full, _ = graded
    names = sorted(rows(full))
    parts = [tmp_path / "a", tmp_path / "b"]
    for i, name in enumerate(names):
        part = parts[i % 2]
        for sub, ext in (("results", "json"), ("feedback", "md")):
            (part / sub).mkdir(parents=True, exist_ok=True)
            shutil.copy(full / sub / f"{name}.{ext}", part / sub / f"{name}.{ext}")
    done = grader("merge", *map(str, parts), "--out", str(tmp_path / "all"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "all" / "gradebook.csv").read_bytes() == (full / "gradebook.csv").read_bytes()
    assert len(list((tmp_path / "all" / "feedback").glob("*.md"))) == len(names)
    assert "data:image/png;base64," in (tmp_path / "all" / "summary.html").read_text()


def test_merge_refuses_a_folder_that_is_not_a_batch_output(tmp_path):
    done = grader("merge", str(tmp_path), "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and "not a batch output folder" in done.stderr


def test_timing_lock_makes_a_second_measurement_wait(tmp_path):
    lock = tmp_path / "timing.lock"
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]);"
            "from grader.engine.timing_lock import exclusive_timing\n"
            "from grader.settings import resolve\n"
            "print('ready', flush=True)\n"
            "with exclusive_timing(resolve().timing_lock) as waited: print(round(waited, 2))")
    with exclusive_timing(lock) as waited:
        assert waited < 0.5
        other = subprocess.Popen([sys.executable, "-c", code, str(ROOT)], stdout=subprocess.PIPE,
                                 text=True, env={**os.environ, "GRADER_TIMING_LOCK": str(lock)})
        assert other.stdout.readline().strip() == "ready"   # started, however loaded the machine
        time.sleep(0.8)
        assert other.poll() is None            # still waiting for the lock
    assert float(other.communicate(timeout=30)[0]) >= 0.7
