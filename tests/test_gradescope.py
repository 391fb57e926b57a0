"""Gradescope: the results.json format, autograder.zip, and its run_autograder run end to end in a
scratch folder laid out as the platform lays out /autograder (setup.sh's installs are skipped:
the kit's own Python stands in for /autograder/venv)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from classroom import WRONG_DOT
from grader.instructor import gradescope
from grader.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format",
            "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output",
             "output_format", "tags", "visibility", "extra_data"}


def gradescope_problems(doc: dict) -> list[str]:
    """What in ``doc`` breaks Gradescope's results.json specification (empty when valid)."""
    bad = [f"unknown top-level key {k}" for k in set(doc) - TOP_KEYS]
    if "score" not in doc and not all("score" in t for t in doc.get("tests", [])):
        bad.append("no top-level score and a test without one")
    number = (int, float)
    for key in ("score", "execution_time"):
        if key in doc and (not isinstance(doc[key], number) or isinstance(doc[key], bool)):
            bad.append(f"{key} is not a number")
    for key in ("visibility", "stdout_visibility"):
        if key in doc and doc[key] not in VISIBILITY:
            bad.append(f"{key} = {doc[key]!r}")
    for key in ("output_format", "test_output_format", "test_name_format"):
        if key in doc and doc[key] not in FORMATS:
            bad.append(f"{key} = {doc[key]!r}")
    if not isinstance(doc.get("tests", []), list):
        bad.append("tests is not a list")
    for i, t in enumerate(doc.get("tests", [])):
        bad += [f"test {i}: unknown key {k}" for k in set(t) - TEST_KEYS]
        for key in ("score", "max_score"):
            if key in t and not isinstance(t[key], number):
                bad.append(f"test {i}: {key} is not a number")
        if "score" in t and "max_score" in t and not 0 <= t["score"] <= t["max_score"]:
            bad.append(f"test {i}: score {t['score']} outside 0..{t['max_score']}")
        if t.get("status", "passed") not in ("passed", "failed"):
            bad.append(f"test {i}: status {t['status']!r}")
        if t.get("visibility", "visible") not in VISIBILITY:
            bad.append(f"test {i}: visibility {t['visibility']!r}")
        for key in ("name", "output", "number"):
            if key in t and not isinstance(t[key], str):
                bad.append(f"test {i}: {key} is not a string")
        if "tags" in t and not all(isinstance(x, str) for x in t["tags"]):
            bad.append(f"test {i}: tags are not strings")
    json.dumps(doc, allow_nan=False)          # NaN / Infinity are not JSON
    return bad


def test_the_validator_catches_broken_documents():
    assert gradescope_problems({"tests": [{"score": 3, "max_score": 2, "status": "ok"}],
                                "visibility": "sometimes", "oops": 1})
    assert gradescope_problems({"score": 1.0, "tests": [{"name": "t", "score": 1, "max_score": 1}]}) == []


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """autograder.zip unpacked the way Gradescope does it, with a partly wrong submission."""
    root = tmp_path_factory.mktemp("autograder")
    zip_path = gradescope.build_zip(root / "autograder.zip")
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        zf.extractall(root / "source")
    for name, mode in modes.items():
        os.chmod(root / "source" / name, stat.S_IMODE(mode))
    (root / "submission").mkdir()
    (root / "submission" / "ex01_vectors.py").write_text(WRONG_DOT)
    (root / "run_autograder").write_bytes((root / "source" / "run_autograder").read_bytes())
    os.chmod(root / "run_autograder", 0o755)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable,
           "GRADER_GRADESCOPE_ARGS": "ex01 --no-timing"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)
    return root, names, modes, done


def test_autograder_zip_holds_the_scripts_at_its_root_and_the_kit(autograder):
    _, names, modes, _ = autograder
    assert {"setup.sh", "run_autograder"} <= set(names)
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    for needed in ("grader/engine/session.py", "grader/suites/test_ex01_vectors.py",
                   "grader/suites/pytest.ini", "pyproject.toml", "constraints.txt"):
        assert needed in names
    assert "solutions/ex01_vectors.py" in names          # the speed checks' reference
    assert not [n for n in names if n.startswith(("tests/", "exercises/", "notebooks/"))
                or "__pycache__" in n]
    setup = (ROOT / "gradescope" / "setup.sh").read_text()
    assert "constraints.txt" in setup and "venv" in setup


def test_run_autograder_writes_valid_results_for_the_submission(autograder):
    root, _, _, done = autograder
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((root / "results" / "results.json").read_text())
    assert gradescope_problems(doc) == []
    tests = doc["tests"]
    assert sum(t["max_score"] for t in tests) == 17
    assert doc["score"] == sum(t["score"] for t in tests)
    assert 0 < doc["score"] < 17                       # dot is off by one, the rest is right
    failed = [t for t in tests if t["status"] == "failed"]
    assert failed and all(t["score"] < t["max_score"] for t in failed)
    lesson = next(t for t in tests if t["name"] == "ex01_vectors: dot_lesson_example")
    assert lesson["status"] == "failed" and "32" in lesson["output"]
    assert all(t["visibility"] == "visible" for t in tests)
    assert isinstance(doc["execution_time"], int) and "ex01_vectors" in doc["output"]


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
