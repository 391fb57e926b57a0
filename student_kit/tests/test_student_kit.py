"""The student kit checks itself: every exercise has its stub, notebook and checks; the stubs
(as committed) are not started; the grader runs on them from the command line; the
notebooks are in step with the stubs; the instructor's commands say they are not here."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT
from grader import registry
from grader.course import load
from grader.engine.notebook_source import is_check_cell
from grader.engine.session import grade_submission
from grader.results import ExerciseStatus, Visibility
from grader.settings import Settings

IDS = [e.id for e in registry.EXERCISES]
COURSE = load(ROOT / "course.toml", known=IDS)


@pytest.fixture(scope="module")
def stubs(pristine):
    return grade_submission(submission=pristine / "exercises", settings=Settings(timing=False))


def test_the_kit_holds_the_assignments_exercises():
    assert IDS and IDS == list(COURSE.exercises)
    for ex_id in IDS:
        for path in (ROOT / "exercises" / f"{ex_id}.py", ROOT / "notebooks" / f"{ex_id}.ipynb",
                     registry.BY_ID[ex_id].suite):
            assert path.is_file(), f"{ex_id}: {path.relative_to(ROOT)} is missing"


def test_every_stub_is_not_started(stubs):
    assert [e.id for e in stubs.exercises] == IDS
    for ex in stubs.exercises:
        assert ex.status is ExerciseStatus.NOT_STARTED and ex.score == 0, ex.id


def test_only_public_checks_are_here_and_the_hidden_ones_are_counted(stubs):
    for ex in stubs.exercises:
        assert ex.checks and all(c.visibility is Visibility.PUBLIC for c in ex.checks), ex.id
        assert ex.hidden == COURSE.hidden_for(ex.id)
        assert ex.max_score == ex.max_score_here + COURSE.hidden_for(ex.id).points


def test_the_grader_runs_from_the_command_line(pristine, tmp_path):
    out = tmp_path / "result.json"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", "--submission",
                           str(pristine / "exercises"), "--no-timing", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr        # nothing passes yet
    for ex_id in IDS:
        assert f"{ex_id}" in done.stdout
    assert done.stdout.count("not started") >= len(IDS)
    doc = json.loads(out.read_text())
    assert all(e["status"] == "not_started" for e in doc["exercises"])


@pytest.mark.parametrize("ex_id", IDS)
def test_the_notebook_is_in_step_with_the_stub(ex_id, pristine):
    nb = nbformat.read(str(pristine / "notebooks" / f"{ex_id}.ipynb"), as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code" and not is_check_cell(c)]
    stub = (pristine / "exercises" / f"{ex_id}.py").read_text()
    assert ast.dump(ast.parse("\n\n\n".join(code))) == ast.dump(ast.parse(stub)), (
        f"notebooks/{ex_id}.ipynb does not hold the code of exercises/{ex_id}.py")
    assert nb.metadata["grader"]["exercise"] == ex_id
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("command", [["batch", "subs", "--out", "out"], ["release", "--out", "out"],
                                     ["gradescope"]])
def test_the_instructors_commands_say_they_are_not_here(command, tmp_path):
    done = subprocess.run([sys.executable, "-m", "grader", *command], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2 and "not part of the student kit" in done.stderr, done.stderr
