"""Notebooks: built from the stubs and never out of date; graded exactly as the modules;
their checking cell works under nbconvert's executor; hints; watch mode."""

from __future__ import annotations

import ast
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader import registry
from grader.engine import notebook_source as notebooks
from grader.engine.session import grade_submission
from grader.instructor import build_notebooks as build
from grader.paths import SOLUTIONS_DIR
from grader.practice import hints
from grader.practice.watch import STOPPED
from grader.settings import Settings
from kit_files import ROOT

IDS = [e.id for e in registry.EXERCISES]
NO_TIMING = Settings(timing=False)


@pytest.fixture(scope="module")
def solved_notebooks(tmp_path_factory, pristine) -> Path:
    """Notebooks built from solutions/ exactly as the exercise notebooks are built."""
    folder = tmp_path_factory.mktemp("solved")
    build.write_notebooks(folder, source=SOLUTIONS_DIR, exercises=IDS,
                          lessons=pristine / "notebooks" / "lessons")
    return folder


@pytest.fixture(scope="module")
def solved_modules():
    result = grade_submission(submission=SOLUTIONS_DIR, exercises=IDS, settings=NO_TIMING)
    return {e.id: e for e in result.exercises}


# -- building (from the stubs and lessons as committed: a learner's edits are not the kit's) ---
@pytest.mark.parametrize("ex_id", IDS)
def test_notebook_is_up_to_date_with_its_stub(ex_id, pristine):
    stale = build.stale_notebooks(pristine / "notebooks", stubs=pristine / "exercises",
                                  lessons=pristine / "notebooks" / "lessons")
    path = pristine / "notebooks" / f"{ex_id}.ipynb"
    assert path not in stale, build.OUT_OF_DATE.format(path=f"notebooks/{ex_id}.ipynb")


@pytest.mark.parametrize("ex_id", IDS)
def test_notebook_is_valid_and_holds_the_stub(ex_id, pristine):
    nb = nbformat.read(str(pristine / "notebooks" / f"{ex_id}.ipynb"), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["grader"] == {"exercise": ex_id, build.GENERATED: build.cells_digest(nb.cells)}
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert notebooks.is_check_cell(nb.cells[-1]) and f"check({ex_id!r})" in nb.cells[-1].source
    code = [c.source for c in nb.cells if c.cell_type == "code" and not notebooks.is_check_cell(c)]
    stub = (pristine / "exercises" / f"{ex_id}.py").read_text()
    assert ast.dump(ast.parse("\n\n\n".join(code))) == ast.dump(ast.parse(stub))
    functions = {n.name for n in ast.parse(stub).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert len(code) == len(functions) + 1    # the module's head, then one cell per definition


# -- rebuilding never destroys a learner's work (issue 14, point 1) ------------------------------
@pytest.fixture
def learner_kit(tmp_path, pristine):
    """A learner's copy: exercises/ and notebooks/ as shipped, lessons beside them."""
    shutil.copytree(pristine / "exercises", tmp_path / "exercises")
    shutil.copytree(pristine / "notebooks", tmp_path / "notebooks")
    return tmp_path


def _build(kit, **kw):
    return build.write_notebooks(kit / "notebooks", stubs=kit / "exercises",
                                 lessons=kit / "notebooks" / "lessons", root=kit, **kw)


def _edit_a_code_cell(path):
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "def " in c.source)
    cell.source += "\n    # my own work"
    nbformat.write(nb, str(path))
    return path.read_text()


def test_a_notebook_with_the_learners_edits_is_kept_as_it_is(learner_kit):
    path = learner_kit / "notebooks" / "ex02_broadcasting.ipynb"
    mine = _edit_a_code_cell(path)
    outcome = _build(learner_kit)
    assert path.read_text() == mine and not outcome.ok
    assert build.KEPT_EDITED.split("{")[0].strip() in "\n".join(outcome.kept)
    assert "make notebooks FORCE=1" in "\n".join(outcome.kept)
    assert path not in outcome.written
    assert len(outcome.unchanged) == len(IDS) - 1      # the others were as generated


def test_force_rebuilds_it_after_copying_it_aside(learner_kit, pristine):
    path = learner_kit / "notebooks" / "ex02_broadcasting.ipynb"
    mine = _edit_a_code_cell(path)
    outcome = _build(learner_kit, force=True)
    assert outcome.ok and path in outcome.written
    assert path.read_text() == (pristine / "notebooks" / "ex02_broadcasting.ipynb").read_text()
    (backup,) = learner_kit.joinpath("notebooks").glob("ex02_broadcasting.edited-*.ipynb")
    assert backup.read_text() == mine


def test_a_notebook_that_only_ran_is_rebuilt(learner_kit, pristine):
    """Outputs and execution counts are not edits: the cells' sources are what counts."""
    path = learner_kit / "notebooks" / "ex01_vectors.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = 3
            cell.outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    nbformat.write(nb, str(path))
    assert not build.edited(path, build.build_notebook(
        "ex01_vectors", pristine / "exercises" / "ex01_vectors.py",
        lessons=pristine / "notebooks" / "lessons"))


def test_a_filled_in_module_is_never_copied_into_a_notebook(learner_kit):
    """Without git (a copied kit), a module that holds a learner's work is no stub: its
    notebook is left alone, and the learner's code does not reach it."""
    (learner_kit / "exercises" / "ex01_vectors.py").write_text(
        (SOLUTIONS_DIR / "ex01_vectors.py").read_text())
    before = (learner_kit / "notebooks" / "ex01_vectors.ipynb").read_text()
    outcome = _build(learner_kit)
    assert (learner_kit / "notebooks" / "ex01_vectors.ipynb").read_text() == before
    assert any("holds your work, not the stub" in line for line in outcome.kept)
    assert all("ex01" not in str(p) for p in outcome.written)


def test_with_git_the_committed_stub_is_used_instead(learner_kit, pristine):
    git = ["git", "-C", str(learner_kit), "-c", "user.name=learner", "-c", "user.email=l@example.org"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "exercises"], check=True)
    subprocess.run(git + ["commit", "-qm", "the kit as shipped"], check=True)
    (learner_kit / "exercises" / "ex01_vectors.py").write_text(
        (SOLUTIONS_DIR / "ex01_vectors.py").read_text())
    subprocess.run(git + ["commit", "-qam", "my work, committed"], check=True)
    path = learner_kit / "notebooks" / "ex01_vectors.ipynb"
    path.unlink()                               # even a notebook made anew
    outcome = _build(learner_kit)
    assert outcome.ok and any("built" in n and "stub committed in git" in n for n in outcome.notes)
    assert path.read_text() == (pristine / "notebooks" / "ex01_vectors.ipynb").read_text()
    assert (learner_kit / "exercises" / "ex01_vectors.py").read_text() == \
        (SOLUTIONS_DIR / "ex01_vectors.py").read_text()      # and the learner's module untouched


def test_the_stubs_are_stubs_and_the_solutions_are_not(pristine):
    for ex_id in IDS:
        assert build.is_stub((pristine / "exercises" / f"{ex_id}.py").read_text()), ex_id
        assert not build.is_stub((SOLUTIONS_DIR / f"{ex_id}.py").read_text()), ex_id


# -- grading ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ex_id", IDS)
def test_solved_notebook_scores_as_the_solved_module(ex_id, solved_notebooks, solved_modules):
    result = grade_submission(submission=solved_notebooks / f"{ex_id}.ipynb", exercises=[ex_id],
                              settings=NO_TIMING)
    got, want = result.exercises[0], solved_modules[ex_id]
    assert [(c.id, c.status, c.points) for c in got.checks] == \
        [(c.id, c.status, c.points) for c in want.checks]
    assert got.score == want.score > 0 and got.max_score == want.max_score
    not_run = sum(c.max_points for c in want.checks if c.status.value == "skipped")   # timing
    assert want.score == want.max_score - not_run


# -- the checking cell, executed as Jupyter would ----------------------------------------------
@pytest.mark.slow
def test_checking_cells_work_under_nbconvert(solved_notebooks, solved_modules, monkeypatch):
    from nbconvert.preprocessors import ExecutePreprocessor

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("GRADER_TIMING", "0")
    for ex_id in IDS:
        nb = nbformat.read(str(solved_notebooks / f"{ex_id}.ipynb"), as_version=4)
        ExecutePreprocessor(timeout=300, kernel_name="python3").preprocess(
            nb, {"metadata": {"path": str(solved_notebooks)}})
        shown = "".join(o.get("data", {}).get("text/plain", "") + o.get("text", "")
                        for o in nb.cells[-1].outputs)
        want = solved_modules[ex_id]
        assert f"{ex_id}  passed" in shown, shown
        assert f"Total: {want.score:g} / {want.max_score:g} points" in shown, shown
        assert "text/html" in nb.cells[-1].outputs[0]["data"]


# -- hints ------------------------------------------------------------------------------------
def test_hints_come_one_more_each_time_then_say_none_are_left(tmp_path, pristine):
    state = tmp_path / "hints.json"
    outs = []
    for _ in range(4):
        out = io.StringIO()
        assert hints.hint(exercise="ex01", settings=NO_TIMING, submission=pristine / "exercises",
                          state_path=state, stream=out) == 0
        outs.append(out.getvalue())
    check = "dot_lesson_example"
    assert all(hints.FIRST_FAILING.format(check=check, status="failed") in o for o in outs)
    assert "Hint 1 of 3" in outs[0] and "Hint 2 of 3" not in outs[0]
    assert "Hint 2 of 3" in outs[1] and "Hint 3 of 3" not in outs[1]
    assert "Hint 3 of 3" in outs[2] and "No hints left" not in outs[2]
    assert hints.NO_MORE.format(check=check, n=3) in outs[3]
    out = io.StringIO()
    hints.hint(exercise="ex01", settings=NO_TIMING, submission=SOLUTIONS_DIR, state_path=state,
               stream=out)
    assert hints.ALL_PASS.format(id="ex01_vectors") in out.getvalue()


# -- watch ------------------------------------------------------------------------------------
def _read_until(proc, needle: str, timeout: float) -> str:
    os.set_blocking(proc.stdout.fileno(), False)
    seen, deadline = "", time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        chunk = proc.stdout.read()
        seen += chunk.decode() if chunk else ""
        time.sleep(0.02)
    assert needle in seen, seen
    return seen


def test_watch_regrades_on_save_and_stops_cleanly_on_ctrl_c(tmp_path, pristine):
    (tmp_path / "exercises").mkdir()
    target = tmp_path / "exercises" / "ex01_vectors.py"
    target.write_text((pristine / "exercises" / "ex01_vectors.py").read_text())
    code = ("import sys; from pathlib import Path; from grader.practice.watch import watch; "
            "from grader.settings import Settings; "
            f"sys.exit(watch(exercise='ex01', settings=Settings(timing=False), root=Path({str(tmp_path)!r})))")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        first = _read_until(proc, "Watching", 60)
        assert "not started" in first
        target.write_text((SOLUTIONS_DIR / "ex01_vectors.py").read_text())
        second = _read_until(proc, "Watching", 30)
        assert "exercises/ex01_vectors.py changed" in second and "ex01_vectors  passed" in second
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        assert STOPPED in _read_until(proc, STOPPED, 5)
    finally:
        if proc.poll() is None:
            proc.kill()
