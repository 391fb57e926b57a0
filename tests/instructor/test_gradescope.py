"""Gradescope: autograder.zip, and its run_autograder run end to end in a scratch folder laid
out as the platform lays out /autograder (setup.sh's installs are skipped: the kit's own
Python stands in for /autograder/venv)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile

import pytest

from classroom import WRONG_DOT
from grader.instructor import gradescope
from gradescope_spec import gradescope_problems
from kit_files import ROOT
from suite_modules import maximum

EX01_MAX = maximum("ex01_vectors")   # the points ex01 is worth, as its suite gives them


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
    assert {"course.toml", "grader/suites/exercises.json", "baselines/ex03_matmul.py"} <= set(names)
    assert not [n for n in names if n.startswith(("tests/", "exercises/", "notebooks/", "solutions/",
                                                  "bench/")) or "__pycache__" in n]
    setup = (ROOT / "gradescope" / "setup.sh").read_text()
    assert "constraints.txt" in setup and "venv" in setup and "bubblewrap" in setup


def test_run_autograder_writes_valid_results_for_the_submission(autograder):
    root, _, _, done = autograder
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((root / "results" / "results.json").read_text())
    assert gradescope_problems(doc) == []
    tests = doc["tests"]
    assert sum(t["max_score"] for t in tests) == EX01_MAX
    assert doc["score"] == sum(t["score"] for t in tests)
    assert 0 < doc["score"] < EX01_MAX                 # dot is off by one, the rest is right
    failed = [t for t in tests if t["status"] == "failed"]
    assert failed and all(t["score"] < t["max_score"] for t in failed)
    lesson = next(t for t in tests if t["name"] == "ex01_vectors: dot_lesson_example")
    assert lesson["status"] == "failed" and "32" in lesson["output"]
    hidden = {"ex01_vectors: dot_random_vectors", "ex01_vectors: dot_edge_cases"}
    assert all(t["visibility"] == ("after_due_date" if t["name"] in hidden else "visible")
               for t in tests if t["name"] in hidden or "lesson_example" in t["name"])
    assert isinstance(doc["execution_time"], int) and "ex01_vectors" in doc["output"]
    assert "isolation: " in doc["output"]              # how the workers were isolated there


def _run_autograder(root, python):
    """run_autograder in a scratch /autograder layout whose Python is ``python``."""
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    script = root / "run_autograder"
    script.write_bytes((ROOT / "gradescope" / "run_autograder").read_bytes())
    os.chmod(script, 0o755)
    env = {"PATH": os.environ["PATH"], "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": str(python)}
    done = subprocess.run([str(script)], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    return done, json.loads((root / "results" / "results.json").read_text())


def _says_the_autograder_failed(doc):
    from grader.report.gradescope_format import GRADER_FAILED

    head, tail = GRADER_FAILED.split("{error}")
    assert gradescope_problems(doc) == [] and doc["score"] == 0 and doc["tests"] == []
    assert doc["output"].startswith(head) and doc["output"].endswith(tail)


def test_run_autograder_without_its_venv_still_writes_results(tmp_path):
    done, doc = _run_autograder(tmp_path, tmp_path / "venv" / "bin" / "python")
    assert done.returncode == 0
    _says_the_autograder_failed(doc)
    assert "setup.sh did not complete" in doc["output"]


def test_run_autograder_when_the_grader_dies_still_writes_results(tmp_path):
    crash = tmp_path / "crashing-python"
    crash.write_text('#!/bin/sh\necho \'Traceback: ImportError: no module named "grader"\' >&2\nexit 1\n')
    os.chmod(crash, 0o755)
    done, doc = _run_autograder(tmp_path / "root", crash)
    _says_the_autograder_failed(doc)
    assert 'status 1' in doc["output"] and 'no module named "grader"' in doc["output"]
