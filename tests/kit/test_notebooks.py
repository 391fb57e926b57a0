"""Notebooks: built from the stubs and never out of date; graded exactly as the modules;
their checking cell works under nbconvert's executor; hints; watch mode."""

from __future__ import annotations

import ast
import io
import os
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
    assert nb.metadata["grader"] == {"exercise": ex_id}
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert notebooks.is_check_cell(nb.cells[-1]) and f"check({ex_id!r})" in nb.cells[-1].source
    code = [c.source for c in nb.cells if c.cell_type == "code" and not notebooks.is_check_cell(c)]
    stub = (pristine / "exercises" / f"{ex_id}.py").read_text()
    assert ast.dump(ast.parse("\n\n\n".join(code))) == ast.dump(ast.parse(stub))
    functions = {n.name for n in ast.parse(stub).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert len(code) == len(functions) + 1    # the module's head, then one cell per definition


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
