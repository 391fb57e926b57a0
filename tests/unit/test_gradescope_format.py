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
