"""Notebooks: built from the stubs and never out of date; graded exactly as the modules;
their checking cell works under nbconvert's executor; hints; watch mode."""

from __future__ import annotations

import ast
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader import registry
from grader.practice import hints
from grader.engine import notebook_source as notebooks
from grader.instructor import build_notebooks as build
from grader.practice.notebook_check import NO_SUITE, history_notebook
from grader.engine.session import grade_submission
from grader.settings import Settings
from grader.practice.watch import STOPPED

ROOT = Path(__file__).resolve().parent.parent
STUBS = build.exercises_with_stubs()
WITH_SUITES = [e for e in STUBS if registry.BY_ID[e].suite.exists()]
NO_TIMING = Settings(timing=False)


@pytest.fixture(scope="module")
def solved_notebooks(tmp_path_factory) -> Path:
    """Notebooks built from solutions/ exactly as the exercise notebooks are built."""
    folder = tmp_path_factory.mktemp("solved")
    build.write_notebooks(folder, source=ROOT / "solutions", exercises=STUBS)
    return folder


@pytest.fixture(scope="module")
def solved_modules():
    result = grade_submission(submission=ROOT / "solutions", exercises=WITH_SUITES,
                              settings=NO_TIMING)
    return {e.id: e for e in result.exercises}


# -- building ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ex_id", STUBS)
def test_notebook_is_up_to_date_with_its_stub(ex_id):
    path = build.NOTEBOOKS_DIR / f"{ex_id}.ipynb"
    want = build.notebook_text(build.build_notebook(ex_id, ROOT / "exercises" / f"{ex_id}.py"))
    assert path.exists(), build.OUT_OF_DATE.format(path=path)
    assert path.read_text(encoding="utf-8") == want, build.OUT_OF_DATE.format(path=path)


@pytest.mark.parametrize("ex_id", STUBS)
def test_notebook_is_valid_and_holds_the_stub(ex_id):
    nb = nbformat.read(str(build.NOTEBOOKS_DIR / f"{ex_id}.ipynb"), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["grader"] == {"exercise": ex_id}
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert notebooks.is_check_cell(nb.cells[-1]) and f"check({ex_id!r})" in nb.cells[-1].source
    code = [c.source for c in nb.cells if c.cell_type == "code" and not notebooks.is_check_cell(c)]
    stub = (ROOT / "exercises" / f"{ex_id}.py").read_text()
    assert ast.dump(ast.parse("\n\n\n".join(code))) == ast.dump(ast.parse(stub))
    functions = {n.name for n in ast.parse(stub).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert len(code) == len(functions) + 1    # the module's head, then one cell per definition


def test_split_keeps_decorators_and_comments_with_their_definition():
    source = 'import x\n\n\n# helper\n@dec\ndef f():\n    pass\n\nY = 1\n\n\nclass C:\n    pass\n'
    assert build.split_definitions(source) == [
        "import x", "# helper\n@dec\ndef f():\n    pass\n\nY = 1", "class C:\n    pass"]


# -- grading ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ex_id", WITH_SUITES)
def test_solved_notebook_scores_as_the_solved_module(ex_id, solved_notebooks, solved_modules):
    result = grade_submission(submission=solved_notebooks / f"{ex_id}.ipynb", exercises=[ex_id],
                              settings=NO_TIMING)
    got, want = result.exercises[0], solved_modules[ex_id]
    assert [(c.id, c.status, c.points) for c in got.checks] == \
        [(c.id, c.status, c.points) for c in want.checks]
    assert got.score == want.score == want.max_score > 0


def _module(cells: list[str]) -> tuple[dict, list[str]]:
    text, notes = notebooks.module_source([notebooks.Cell(f"cell {i}", s) for i, s in
                                           enumerate(cells, 1)], name="t.ipynb")
    namespace: dict = {"__name__": "learner"}
    exec(compile(text, "learner.py", "exec"), namespace)   # the kit's own generated text
    return namespace, notes


def test_failing_and_broken_cells_are_recorded_and_the_others_still_define():
    ns, notes = _module([
        "import math",
        "def early():\n    return 1",
        "x = 1 / 0\ndef lost():\n    return 2",
        "def broken(:\n    pass",
        "def late():\n    return math.pi",
    ])
    assert ns["early"]() == 1 and ns["late"]() == math.pi
    assert ns["_grader_cell_errors"]() == [
        "cell 3: ZeroDivisionError: division by zero",
        "cell 4: SyntaxError: invalid syntax (line 1); the cell was left out"]
    with pytest.raises(RuntimeError, match="lost was never defined: cell 3 raised ZeroDivisionError"):
        ns["lost"]()
    with pytest.raises(RuntimeError, match="broken was never defined: cell 4 raised SyntaxError"):
        ns["broken"]()
    assert notes == []


def test_magics_shell_and_help_lines_are_dropped_but_valid_python_is_not():
    ns, notes = _module([
        "%load_ext autoreload\n!pip list\nfiles = !ls\nlen?\ndef f():\n    %time 1\n    return 3",
        "%%bash\necho hi",
        "y = (10\n     % 4)\nz = (1\n     != 2)",
    ])
    assert ns["f"]() == 3 and ns["y"] == 2 and ns["z"] is True
    assert notes == ["cell 2: the cell magic %%bash is not Python; the cell was left out"]
    assert ns["_grader_cell_errors"]() == []


def test_indenting_cells_keeps_multiline_strings_and_future_imports_work():
    text = 'from __future__ import annotations\nS = """a\nb\n  c"""\ndef f(x: Undefined) -> str:\n    """Doc\n    line."""\n    return S\n'
    ns, _ = _module([text])
    assert ns["S"] == "a\nb\n  c" and ns["f"](0) == "a\nb\n  c"
    assert ns["f"].__doc__ == "Doc\n    line." and ns["f"].__annotations__["x"] == "Undefined"


def test_the_exercise_comes_from_metadata_then_file_name_then_functions(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def matvec(m, v):\n    pass")])
    assert notebooks.notebook_exercise(nb, Path("alice.ipynb"), notebooks.notebook_cells(nb)) == "ex03_matmul"
    assert notebooks.notebook_exercise(nb, Path("ex01_vectors_alice.ipynb"), []) == "ex01_vectors"
    nb.metadata["grader"] = {"exercise": "ex02_broadcasting"}
    assert notebooks.notebook_exercise(nb, Path("ex01_vectors.ipynb"), []) == "ex02_broadcasting"


def test_the_checking_cell_is_left_out_even_without_its_tag(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def dot(a, b):\n    return 1.0"),
        nbformat.v4.new_code_cell("from grader.notebook_check import check\ncheck('ex01_vectors')")])
    path = tmp_path / "ex01_vectors.ipynb"
    nbformat.write(nb, str(path))
    notebooks.extract_notebook(path, tmp_path, exercise_ids=["ex01_vectors"])
    module = (tmp_path / "ex01_vectors.py").read_text()
    assert "def dot" in module and "check(" not in module.replace("_grader_", "")


def test_history_keeps_each_cell_at_its_last_run_and_drops_the_check():
    nb = history_notebook([(1, "def f(): return 1"), (2, "def f(): return 2"),
                           (3, "def f(): return 1"), (4, "from grader.notebook_check import check\ncheck()"),
                           (5, "   ")], "ex01_vectors")
    cells = notebooks.notebook_cells(nb)
    assert [(c.label, c.source) for c in cells] == [("In [2]", "def f(): return 2"),
                                                     ("In [3]", "def f(): return 1")]


# -- the checking cell, executed as Jupyter would ----------------------------------------------
def test_checking_cells_work_under_nbconvert(solved_notebooks, solved_modules, monkeypatch):
    from nbconvert.preprocessors import ExecutePreprocessor

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("GRADER_TIMING", "0")
    for ex_id in STUBS:
        nb = nbformat.read(str(solved_notebooks / f"{ex_id}.ipynb"), as_version=4)
        ExecutePreprocessor(timeout=300, kernel_name="python3").preprocess(
            nb, {"metadata": {"path": str(solved_notebooks)}})
        shown = "".join(o.get("data", {}).get("text/plain", "") + o.get("text", "")
                        for o in nb.cells[-1].outputs)
        if ex_id in solved_modules:
            full = solved_modules[ex_id].max_score
            assert f"{ex_id}  passed" in shown and f"Total: {full:g} / {full:g} points" in shown, shown
            assert "text/html" in nb.cells[-1].outputs[0]["data"]
        else:
            assert NO_SUITE.format(id=ex_id) in shown, shown


# -- hints ------------------------------------------------------------------------------------
def test_hints_come_one_more_each_time_then_say_none_are_left(tmp_path):
    import io

    state = tmp_path / "hints.json"
    outs = []
    for _ in range(4):
        out = io.StringIO()
        assert hints.hint(exercise="ex01", settings=NO_TIMING, state_path=state, stream=out) == 0
        outs.append(out.getvalue())
    check = "dot_lesson_example"
    assert all(hints.FIRST_FAILING.format(check=check, status="failed") in o for o in outs)
    assert "Hint 1 of 3" in outs[0] and "Hint 2 of 3" not in outs[0]
    assert "Hint 2 of 3" in outs[1] and "Hint 3 of 3" not in outs[1]
    assert "Hint 3 of 3" in outs[2] and "No hints left" not in outs[2]
    assert hints.NO_MORE.format(check=check, n=3) in outs[3]
    out = io.StringIO()
    hints.hint(exercise="ex01", settings=NO_TIMING, submission=ROOT / "solutions", state_path=state,
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


def test_watch_regrades_on_save_and_stops_cleanly_on_ctrl_c(tmp_path):
    (tmp_path / "exercises").mkdir()
    target = tmp_path / "exercises" / "ex01_vectors.py"
    target.write_text((ROOT / "exercises" / "ex01_vectors.py").read_text())
    code = ("import sys; from pathlib import Path; from grader.practice.watch import watch; "
            "from grader.settings import Settings; "
            f"sys.exit(watch(exercise='ex01', settings=Settings(timing=False), root=Path({str(tmp_path)!r})))")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        first = _read_until(proc, "Watching", 60)
        assert "not started" in first
        target.write_text((ROOT / "solutions" / "ex01_vectors.py").read_text())
        second = _read_until(proc, "Watching", 30)
        assert "exercises/ex01_vectors.py changed" in second and "ex01_vectors  passed" in second
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        assert STOPPED in _read_until(proc, STOPPED, 5)
    finally:
        if proc.poll() is None:
            proc.kill()
