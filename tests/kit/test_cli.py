"""The command line: exit codes and the JSON result document of SPEC.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from grader.cli import main
from kit_files import ROOT

SOLUTIONS = str(ROOT / "solutions")

CHECK_KEYS = {"id", "kind", "status", "points", "max_points", "feedback", "device", "timing"}
EXERCISE_KEYS = {"id", "title", "status", "score", "max_score", "checks"}
ENVIRONMENT_KEYS = {"grader_version", "python", "numpy", "torch", "device", "seed",
                    "suites_sha256", "submission_sha256"}


@pytest.fixture(autouse=True)
def _no_grader_environment(monkeypatch):
    for name in [n for n in os.environ if n.startswith("GRADER_")]:
        monkeypatch.delenv(name)


def test_solutions_pass_with_exit_0(capsys):
    assert main(["grade", "ex01", "--submission", SOLUTIONS, "--no-timing"]) == 0
    out = capsys.readouterr().out
    assert "ex01_vectors" in out and "passed" in out


def test_stubs_fail_with_exit_1(capsys, pristine):
    assert main(["grade", "ex01", "--submission", str(pristine / "exercises"), "--no-timing"]) == 1
    assert "not started" in capsys.readouterr().out


def test_json_document_has_spec_keys(tmp_path, capsys):
    out = tmp_path / "results" / "result.json"
    code = main(["grade", "ex01", "ex03", "--submission", SOLUTIONS, "--json", str(out),
                 "--seed", "7", "--no-timing"])
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == 1 and doc["submission"] == "solutions"
    # --no-timing: matmul_speed (2 points) is not run, and still counts in the maximum.
    assert doc["score"] == doc["max_score"] - 2 > 0
    assert doc["hidden_remaining"] == {"checks": 0, "points": 0.0}
    assert [e["id"] for e in doc["exercises"]] == ["ex01_vectors", "ex03_matmul"]
    for ex in doc["exercises"]:
        assert EXERCISE_KEYS <= set(ex) and ex["status"] == "passed" and ex["checks"]
        assert ex["score"] == pytest.approx(sum(c["points"] for c in ex["checks"]))
        assert ex["max_score"] == pytest.approx(sum(c["max_points"] for c in ex["checks"]))
        for check in ex["checks"]:
            assert CHECK_KEYS <= set(check)
            assert check["kind"] in ("correctness", "timing", "constraint")
            assert check["visibility"] in ("public", "hidden") and check["informational"] is False
            if check["status"] == "skipped":    # --no-timing: said so, 0 of its points
                assert check["kind"] == "timing" and check["max_points"] == 2
                assert check["points"] == 0 and check["feedback"].startswith("skipped:")
            else:
                assert check["status"] == "passed" and check["points"] == check["max_points"]
            assert check["device"] in ("cpu", "cuda", None)
            assert check["timing"] is None or {"learner_s", "reference_s", "ratio",
                                               "target_ratio"} <= set(check["timing"])
    env = doc["environment"]
    assert ENVIRONMENT_KEYS <= set(env)
    assert env["seed"] == 7
    assert len(env["suites_sha256"]) == 64 and len(env["submission_sha256"]) == 64
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    assert str(out) in capsys.readouterr().out


def test_json_document_of_a_failing_submission(tmp_path, pristine):
    out = tmp_path / "stubs.json"
    assert main(["grade", "ex03", "--submission", str(pristine / "exercises"), "--json", str(out),
                 "--no-timing"]) == 1
    doc = json.loads(out.read_text())
    ex = doc["exercises"][0]
    assert ex["id"] == "ex03_matmul" and ex["status"] == "not_started" and ex["score"] == 0
    graded = [c for c in ex["checks"] if c["status"] != "skipped"]
    assert graded and all(c["status"] == "failed" and c["points"] == 0
                          and "not started" in c["feedback"] for c in graded)


def test_python_dash_m_entry_point():
    run = subprocess.run([sys.executable, "-m", "grader", "grade", "ex01", "--submission",
                          SOLUTIONS, "--no-timing"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    run = subprocess.run([sys.executable, "-m", "grader", "grade", "nope"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 2 and "unknown exercise" in run.stderr


def test_a_notebook_graded_without_naming_the_exercise_is_graded_as_its_own(capsys, pristine):
    """Issue 14, point 7: the notebook's exercise only, and the next step names the notebook."""
    from grader.report.terminal import NEXT_STEP_NOTEBOOK

    notebook = pristine / "notebooks" / "ex03_matmul.ipynb"
    assert main(["grade", "--submission", str(notebook), "--no-timing"]) == 1
    out = capsys.readouterr().out
    assert "ex03_matmul" in out and "ex01_vectors" not in out and "ex04_simple_mnist" not in out
    assert NEXT_STEP_NOTEBOOK.format(file=str(notebook)) in out
    assert "exercises/" not in out
