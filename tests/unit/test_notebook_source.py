"""Notebooks as sources: splitting a module into cells, and turning cells back into a module
that the worker imports cell by cell (``isolation/cells.py``: failing and broken cells recorded,
magics dropped, the checking cell and cells that only show things left out)."""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import pytest

from grader.engine import notebook_source as notebooks
from grader.isolation import cells as worker_cells
from grader.instructor import build_notebooks as build
from grader.practice.notebook_check import history_notebook


def test_split_keeps_decorators_and_comments_with_their_definition():
    source = 'import x\n\n\n# helper\n@dec\ndef f():\n    pass\n\nY = 1\n\n\nclass C:\n    pass\n'
    assert build.split_definitions(source) == [
        "import x", "# helper\n@dec\ndef f():\n    pass\n\nY = 1", "class C:\n    pass"]


@pytest.fixture
def module(tmp_path, monkeypatch):
    """Cells -> (the module's namespace as the worker imports it, the failed cells, notes)."""
    made = []

    def build(cells: list[str]) -> tuple[dict, list[str], list[str]]:
        text, spans, notes = notebooks.module_source(
            [notebooks.Cell(f"cell {i}", s) for i, s in enumerate(cells, 1)])
        path = tmp_path / f"learner{len(made)}.py"
        path.write_text(text)
        made.append(path.stem)
        module, failures = worker_cells.import_cells(path.stem, str(path), spans)
        return vars(module), failures, notes

    yield build
    for name in made:
        monkeypatch.delitem(__import__("sys").modules, name, raising=False)


def test_failing_and_broken_cells_are_recorded_and_the_others_still_define(module):
    ns, failures, notes = module([
        "import math",
        "def early():\n    return 1",
        "x = 1 / 0\ndef lost():\n    return 2",
        "def broken(:\n    pass",
        "def late():\n    return math.pi",
    ])
    assert ns["early"]() == 1 and ns["late"]() == math.pi
    assert failures == [
        "cell 3: ZeroDivisionError: division by zero",
        "cell 4: SyntaxError: invalid syntax (line 1); the cell was left out"]
    with pytest.raises(RuntimeError, match="lost was never defined: cell 3 raised ZeroDivisionError"):
        ns["lost"]()
    with pytest.raises(RuntimeError, match="broken was never defined: cell 4 raised SyntaxError"):
        ns["broken"]()
    assert notes == []


def test_magics_shell_and_help_lines_are_dropped_but_valid_python_is_not(module):
    ns, failures, notes = module([
        "%load_ext autoreload\n!pip list\nfiles = !ls\nlen?\ndef f():\n    %time 1\n    return 3",
        "%%bash\necho hi",
        "y = (10\n     % 4)\nz = (1\n     != 2)",
        "def g():\n    return y, z",
    ])
    assert ns["f"]() == 3 and ns["g"]() == (2, True)
    assert notes == ["cell 2: the cell magic %%bash is not Python; the cell was left out"]
    assert failures == []


def test_cells_that_only_show_things_are_left_out(module):
    ns, failures, _ = module(["import numpy as np", "def f():\n    return np.pi",
                              "import matplotlib.pyplot as plt\nplt.plot([1, 2])", "print(f())"])
    assert "plt" not in ns and ns["f"]() == math.pi and failures == []


def test_cells_keep_multiline_strings_and_future_imports_work(module):
    text = 'from __future__ import annotations\nS = """a\nb\n  c"""\ndef f(x: Undefined) -> str:\n    """Doc\n    line."""\n    return S\n'
    ns, _, _ = module([text])
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
    assert "def dot" in module and "check(" not in module


def test_history_keeps_each_cell_at_its_last_run_and_drops_the_check():
    nb = history_notebook([(1, "def f(): return 1"), (2, "def f(): return 2"),
                           (3, "def f(): return 1"), (4, "from grader.notebook_check import check\ncheck()"),
                           (5, "   ")], "ex01_vectors")
    cells = notebooks.notebook_cells(nb)
    assert [(c.label, c.source) for c in cells] == [("In [2]", "def f(): return 2"),
                                                     ("In [3]", "def f(): return 1")]
