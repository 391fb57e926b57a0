"""Grade the current exercise from inside its notebook: ``check("ex03_matmul")``.

What is graded is the code the kernel has run: the raw source of every cell in its input
history (``In``), each distinct cell once, at its last run (so a cell edited and re-run
counts as it is now, as the kernel sees it; a cell never run does not count; nothing has to
be saved first). The checking cell itself is left out. That code is written to a temporary
notebook and graded by ``python -m grader grade`` in a separate process, with its own worker,
exactly as the terminal does: nothing the notebook has done to its kernel (a patched NumPy,
say) can reach the grader. Cells are named by their execution count, ``In [7]``.

Outside IPython (a plain ``python``), ``check(exercise, notebook=PATH)`` grades a saved
notebook file instead; without ``notebook`` it looks for ``<exercise>.ipynb`` in the current
folder and then in the kit's ``notebooks/``.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from grader import registry, truncation
from grader.engine.notebook_source import CHECK_MARKER
from grader.paths import KIT_ROOT, NOTEBOOKS_DIR
from grader.report.terminal import LABELS, render
from grader.results import ExerciseStatus, Submission

NEED_EXERCISE = ("check(): say which exercise to grade, e.g. check(\"ex03_matmul\") "
                 "(the notebook's own last cell has it)")
NO_SUITE = "{id} has no checks yet: there is nothing to grade."
NO_NOTEBOOK = "check(): no notebook to grade: run this inside Jupyter, or pass notebook=PATH"
GRADER_FAILED = "check(): the grader could not run (exit status {code}):\n{err}"
NEXT_STEP = "Next: fix the first failing check above, re-run its cell, then re-run this cell."
TIMEOUT_S = 900
COLOURS = {ExerciseStatus.PASSED: "#1a7f37", ExerciseStatus.FAILED: "#cf222e",
           ExerciseStatus.NOT_STARTED: "#9a6700", ExerciseStatus.ERROR: "#8250df"}


def check(exercise: str | None = None, *, notebook: str | Path | None = None,
          timing: bool | None = None, show: bool = True) -> Submission | None:
    """Grade ``exercise`` from this notebook's code and show the report here.

    ``timing=False`` skips the speed targets (faster). With ``show=False`` nothing is shown
    and the ``Submission`` is returned instead.
    """
    shell = _ipython()
    exercise = exercise or _exercise_from_session(shell)
    if not exercise:
        raise ValueError(NEED_EXERCISE)
    info = registry.select([exercise])[0]
    if not info.suite.exists():
        _show(NO_SUITE.format(id=info.id), None, show)
        return None
    with tempfile.TemporaryDirectory(prefix="grader-check-") as tmp:
        if notebook is not None:
            path = Path(notebook)
        elif shell is not None:
            path = Path(tmp) / f"{info.id}.ipynb"
            nbformat.write(history_notebook(_raw_history(shell), info.id), str(path))
        else:
            path = _saved_notebook(info.id)
        result = _grade(path, info.id, Path(tmp) / "result.json", timing)
    result.submission = f"{info.id} ({'this notebook' if notebook is None else Path(notebook).name})"
    if not show:
        return result
    _show(_text(result), result, show)
    return None


def history_notebook(history: list[tuple[int, str]], exercise: str) -> nbformat.NotebookNode:
    """A notebook of the cells the kernel ran: each distinct source once, at its last run."""
    last: dict[str, int] = {}
    for count, source in history:
        if source.strip() and CHECK_MARKER not in source:
            last.pop(source, None)
            last[source] = count
    cells = []
    for source, count in last.items():
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["grader"] = {"label": f"In [{count}]"}
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells, metadata={"grader": {"exercise": exercise}})


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _raw_history(shell) -> list[tuple[int, str]]:
    raw = list(shell.history_manager.input_hist_raw)
    return [(i, src) for i, src in enumerate(raw) if i > 0]


def _exercise_from_session(shell) -> str | None:
    """The exercise named by the notebook's file name, where the front end tells it."""
    names = [os.environ.get("JPY_SESSION_NAME", "")]
    if shell is not None:
        names += [str(shell.user_ns.get(k, "")) for k in ("__session__", "__vsc_ipynb_file__")]
    for name in names:
        stem = Path(name).stem
        for info in registry.EXERCISES:
            if stem.startswith(info.id):
                return info.id
    return None


def _saved_notebook(exercise: str) -> Path:
    for folder in (Path.cwd(), NOTEBOOKS_DIR):
        if (folder / f"{exercise}.ipynb").exists():
            return folder / f"{exercise}.ipynb"
    raise FileNotFoundError(NO_NOTEBOOK)


def _grade(path: Path, exercise: str, json_path: Path, timing: bool | None) -> Submission:
    cmd = [sys.executable, "-m", "grader", "grade", exercise, "--submission", str(path),
           "--json", str(json_path)]
    if timing is False:
        cmd.append("--no-timing")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(KIT_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(cmd, cwd=KIT_ROOT, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    if not json_path.exists():
        raise RuntimeError(GRADER_FAILED.format(code=proc.returncode, err=proc.stderr[-truncation.GRADER_STDERR_CHARS:]))
    return Submission.from_dict(json.loads(json_path.read_text(encoding="utf-8")))


def _text(result: Submission) -> str:
    text = render(result, colour=False)
    lines = [NEXT_STEP if line.startswith("Next: ") else line for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def _show(text: str, result: Submission | None, show: bool) -> None:
    if not show:
        return
    shell = _ipython()
    if shell is None or not hasattr(shell, "display_pub"):
        print(text, end="" if text.endswith("\n") else "\n")
        return
    from IPython.display import display

    display({"text/plain": text, "text/html": _html(text, result)}, raw=True)


def _html(text: str, result: Submission | None) -> str:
    banner = ""
    if result is not None:
        parts = []
        for ex in result.exercises:
            colour = COLOURS[ex.status]
            parts.append(f'<span style="color:white;background:{colour};padding:2px 8px;'
                         f'border-radius:4px">{html.escape(ex.id)}: {LABELS[ex.status]}, '
                         f'{ex.score:g} / {ex.max_score_here:g} points</span>')
        banner = "<div style='margin:4px 0'>" + " ".join(parts) + "</div>"
    return f"{banner}<pre style='white-space:pre-wrap'>{html.escape(text)}</pre>"
