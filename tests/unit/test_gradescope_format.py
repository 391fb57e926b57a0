"""Gradescope's results.json: a validator of its specification, the document written when
the grader itself fails, and the platform's paths. (autograder.zip and run_autograder run end
to end in tests/instructor/test_gradescope.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from grader.instructor import gradescope
from grader.settings import Settings
from gradescope_spec import gradescope_problems

def test_the_validator_catches_broken_documents():
    assert gradescope_problems({"tests": [{"score": 3, "max_score": 2, "status": "ok"}],
                                "visibility": "sometimes", "oops": 1})
    assert gradescope_problems({"score": 1.0, "tests": [{"name": "t", "score": 1, "max_score": 1}]}) == []


def test_a_grader_failure_still_writes_results(tmp_path, monkeypatch):
    import grader.engine.session

    def broken(**_):
        raise RuntimeError("suites missing")

    monkeypatch.setattr(grader.engine.session, "grade_submission", broken)
    out = tmp_path / "results.json"
    doc = gradescope.run(submission=tmp_path, results_path=out, settings=Settings(timing=False))
    assert json.loads(out.read_text()) == doc
    assert gradescope_problems(doc) == [] and doc["score"] == 0
    assert "suites missing" in doc["output"] and "instructor" in doc["output"]


def test_default_paths_follow_the_platform_layout(monkeypatch, tmp_path):
    monkeypatch.delenv(gradescope.ROOT_ENV, raising=False)
    assert gradescope.default_paths() == (Path("/autograder/submission"),
                                          Path("/autograder/results/results.json"))
    monkeypatch.setenv(gradescope.ROOT_ENV, str(tmp_path))
    assert gradescope.default_paths() == (tmp_path / "submission", tmp_path / "results" / "results.json")


# -- one test per check: visibility, checks not run, the leaderboard ----------------------------
def _result():
    from grader.results import (Check, CheckKind, CheckStatus, Exercise, Submission, Timing,
                                Visibility)

    checks = [
        Check("matmul_lesson_example", CheckKind.CORRECTNESS, CheckStatus.PASSED, 1, 1),
        Check("matmul_random_matrices", CheckKind.CORRECTNESS, CheckStatus.FAILED, 2, 0,
              feedback="wrong shape", visibility=Visibility.HIDDEN),
        Check("matmul_speed", CheckKind.TIMING, CheckStatus.PASSED, 2, 2, function="matmul",
              timing=Timing(2e-5, 1e-5, 2.0, 13.0, 3, "np.matmul")),
        Check("softmax_speed[cpu]", CheckKind.TIMING, CheckStatus.SKIPPED, 2, 0, device="cpu",
              feedback="skipped: timing disabled (--no-timing)"),
        Check("softmax_speed[cuda]", CheckKind.TIMING, CheckStatus.SKIPPED, 0, 0, device="cuda",
              feedback="skipped: no CUDA device on this machine", informational=True),
    ]
    return Submission("alice", [Exercise("ex03_matmul", "Matmul", checks=checks)], {"seed": 0})


def test_every_check_is_a_test_and_the_tests_add_up_to_the_maximum():
    from grader.report.gradescope_format import NOT_RUN, to_results

    doc = to_results(_result(), execution_time=3.2, visibility="visible",
                     hidden_visibility="after_due_date")
    assert gradescope_problems(doc) == []
    tests = {t["name"].split(": ")[1]: t for t in doc["tests"]}
    assert set(tests) == {"matmul_lesson_example", "matmul_random_matrices", "matmul_speed",
                          "softmax_speed[cpu]"}                      # the GPU variant: not run
    assert sum(t["max_score"] for t in doc["tests"]) == _result().max_score == 7
    assert tests["matmul_random_matrices"]["visibility"] == "after_due_date"
    assert tests["matmul_lesson_example"]["visibility"] == "visible"
    not_run = tests["softmax_speed[cpu]"]
    assert (not_run["status"], not_run["score"], not_run["max_score"]) == ("failed", 0, 2)
    assert not_run["output"] == NOT_RUN.format(reason="timing disabled (--no-timing)")
    assert "GPU check(s) (informational, no points) not run" in doc["output"]


def test_each_measured_speed_check_is_on_the_leaderboard():
    from grader.report.gradescope_format import to_results

    doc = to_results(_result(), execution_time=1)
    assert doc["leaderboard"] == [{"name": "ex03_matmul matmul: time / np.matmul", "value": 2.0,
                                   "order": "asc"}]
    assert "leaderboard" not in to_results(_result(), execution_time=1, leaderboard=False)
