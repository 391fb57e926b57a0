"""A generated class of submissions for the batch tests and the throughput benchmark.

Each kind is made from the reference solution or the stub of ex01_vectors with a small edit,
and says what the gradebook must show for it: the row's status, whether the score is full,
zero or partial, and a phrase the error reason must contain.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kit_files import ROOT, pristine_text

MODULE = "ex01_vectors"
SOLUTION = (ROOT / "solutions" / f"{MODULE}.py").read_text()
STUB = pristine_text(f"exercises/{MODULE}.py")      # as committed, whatever a learner did
DOT_RETURN = "    return float((a * b).sum())\n"
UNIT_START = "    v = np.asarray(v)\n    if v.ndim != 1:\n        raise ValueError(f\"unit:"
COSINE_START = "    a = np.asarray(a)\n    b = np.asarray(b)\n    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:\n        raise ValueError(\n            \"cosine_similarity:"


@dataclass(frozen=True)
class Kind:
    name: str
    status: str                 # gradebook status
    score: str                  # "full" | "zero" | "partial"
    reason: str = ""            # a phrase the gradebook's reason must contain


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _zip(path: Path, files: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)


def _folder(path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


# dot off by one; norm computed without dot, so the mistake stays dot's alone (partial credit)
WRONG_DOT = _edit(_edit(SOLUTION, DOT_RETURN, "    return float((a * b).sum()) + 1.0\n"),
                  "    return float(np.sqrt(dot(v, v)))\n", "    return float(np.sqrt((v * v).sum()))\n")
LINALG_NORM = _edit(SOLUTION, "    return float(np.sqrt(dot(v, v)))\n", "    return float(np.linalg.norm(v))\n")
UNIT_HANGS = _edit(SOLUTION, UNIT_START, "    while True:\n        pass\n" + UNIT_START)
COSINE_REFUSED = _edit(SOLUTION, COSINE_START, "    import os\n    os._exit(3)\n" + COSINE_START)
IMPORT_ERROR = "import numpy_but_misspelled as np\n" + SOLUTION
SYNTAX_ERROR = SOLUTION.replace("def norm(", "def norm(:", 1)
IMPORT_HANGS = "while True:\n    pass\n" + SOLUTION
LOUD = _edit(SOLUTION, DOT_RETURN, "    print('x' * 5000)\n" + DOT_RETURN)

KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("correct", "ok", "full"),
    Kind("correct_zip", "ok", "full"),
    Kind("correct_nested_zip", "ok", "full"),
    Kind("correct_nested_folder", "ok", "full"),
    Kind("correct_loud", "ok", "full"),
    Kind("wrong_dot", "ok", "partial"),
    Kind("uses_linalg_norm", "ok", "partial"),
    Kind("not_started", "not_started", "zero"),
    Kind("not_started_zip", "not_started", "zero"),
    Kind("broken_zip", "error", "zero", "not a readable zip"),
    Kind("import_error", "error", "zero", "numpy_but_misspelled"),
    Kind("syntax_error", "error", "zero", "SyntaxError"),
    Kind("not_python", "error", "zero", "is not a folder"),
    Kind("empty_folder", "error", "zero", "no Python files"),
    Kind("unit_hangs", "ok", "partial"),
    Kind("cosine_refused", "error", "zero", "is not allowed in these exercises"),  # the static policy
    Kind("import_hangs", "error", "zero", "ran past the per-submission limit"),
    Kind("broken_notebook", "error", "zero", "not a readable notebook"),
)}

# How often each kind appears in a class of 61 (the slow kinds once or twice).
MIX = ["correct"] * 10 + ["correct_zip"] * 5 + ["correct_nested_zip"] * 3 + \
    ["correct_nested_folder"] * 3 + ["correct_loud"] * 2 + ["wrong_dot"] * 7 + \
    ["uses_linalg_norm"] * 6 + ["not_started"] * 6 + ["not_started_zip"] * 2 + \
    ["broken_zip"] * 3 + ["import_error"] * 3 + ["syntax_error"] * 2 + ["not_python"] * 2 + \
    ["empty_folder"] * 2 + ["unit_hangs"] * 2 + ["cosine_refused"] * 1 + ["import_hangs"] * 1 + \
    ["broken_notebook"]


def write_submission(folder: Path, kind: str, name: str) -> Path:
    """Write one submission of ``kind`` into ``folder``; returns its path."""
    py = f"{MODULE}.py"
    texts = {"correct": SOLUTION, "correct_loud": LOUD, "wrong_dot": WRONG_DOT,
             "uses_linalg_norm": LINALG_NORM, "not_started": STUB, "import_error": IMPORT_ERROR,
             "syntax_error": SYNTAX_ERROR, "unit_hangs": UNIT_HANGS,
             "cosine_refused": COSINE_REFUSED, "import_hangs": IMPORT_HANGS}
    if kind in texts:
        path = folder / name
        _folder(path, {py: texts[kind]})
    elif kind == "correct_zip":
        path = folder / f"{name}.zip"
        _zip(path, {py: SOLUTION})
    elif kind == "not_started_zip":
        path = folder / f"{name}.zip"
        _zip(path, {py: STUB})
    elif kind == "correct_nested_zip":
        path = folder / f"{name}.zip"
        _zip(path, {f"{name}/{py}": SOLUTION, f"__MACOSX/{name}/._{py}": "junk"})
    elif kind == "correct_nested_folder":
        path = folder / name
        _folder(path, {f"homework/{py}": SOLUTION})
    elif kind == "broken_zip":
        path = folder / f"{name}.zip"
        buf = io.BytesIO()
        _zip_to(buf, {py: SOLUTION})
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])     # truncated download
    elif kind == "not_python":
        path = folder / f"{name}.pdf"
        path.write_bytes(b"%PDF-1.4 not a program\n")
    elif kind == "broken_notebook":
        path = folder / f"{name}.ipynb"
        path.write_text('{"cells": [{"cell_type": "code", "source": "def dot(a, b):')
    elif kind == "empty_folder":
        path = folder / name
        path.mkdir()
    else:
        raise ValueError(kind)
    return path


def _zip_to(buf: io.BytesIO, files: dict[str, str]) -> None:
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)


def make_class(folder: Path, mix: list[str] | None = None) -> dict[str, Kind]:
    """Write a class into ``folder``: ``student_NN_<kind>`` for each kind in ``mix``."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for i, kind in enumerate(mix or MIX):
        name = f"student_{i:02d}_{kind}"
        write_submission(folder, kind, name)
        expected[name] = KINDS[kind]
    return expected
