"""Gradescope: grade the uploaded submission into ``results.json``, and build ``autograder.zip``.

The platform unzips ``autograder.zip`` into ``/autograder/source``, runs ``setup.sh`` once
when it builds the image, then ``run_autograder`` for every submission, with the student's
files in ``/autograder/submission``; whatever is in ``/autograder/results/results.json``
afterwards is the grade (its format: ``report/gradescope_format.py``).
"""

from __future__ import annotations

import os
import stat
import time
import zipfile
from pathlib import Path
from typing import Sequence

from grader.paths import KIT_ROOT
from grader.report.gradescope_format import failed_results, to_results
from grader.settings import Settings

ROOT_ENV = "AUTOGRADER_ROOT"
DEFAULT_ROOT = Path("/autograder")
# What goes into autograder.zip (besides setup.sh and run_autograder at its root). The speed
# checks time the learner against solutions/ (timing.py), so the reference solutions go too:
# the autograder's source is never shown to students, and learner code runs in the sandbox.
ZIP_ITEMS = ("grader", "solutions", "data", "pyproject.toml", "constraints.txt", "README.md")
ZIP_SKIP = ("__pycache__", ".pyc", ".DS_Store")
SCRIPTS = ("setup.sh", "run_autograder")


def default_paths(root: Path | None = None) -> tuple[Path, Path]:
    """(submission folder, results file) under ``root``, ``$AUTOGRADER_ROOT`` or /autograder."""
    root = Path(root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT)
    return root / "submission", root / "results" / "results.json"


def find_submission(folder: Path) -> Path:
    """What to grade in the upload folder: the folder itself, or the one notebook / zip in it."""
    folder = Path(folder)
    if folder.is_dir() and not any(folder.rglob("*.py")):
        found = [p for p in folder.iterdir() if p.suffix.lower() in (".ipynb", ".zip")]
        if len(found) == 1:
            return found[0]
    return folder


def run(*, submission: Path, results_path: Path, settings: Settings,
        exercises: Sequence[str] = (), visibility: str = "visible") -> dict:
    """Grade ``submission`` and write ``results_path``; always writes a document, even when the
    grader itself fails (the student then sees that the autograder, not their code, failed)."""
    from grader.files import write_json
    from grader.engine.session import grade_submission

    start = time.monotonic()
    try:
        result = grade_submission(submission=find_submission(submission), exercises=exercises,
                                  settings=settings)
        doc = to_results(result, execution_time=time.monotonic() - start, visibility=visibility)
    except Exception as exc:   # noqa: BLE001 - the platform must always get a results.json
        doc = failed_results(f"{type(exc).__name__}: {exc}", execution_time=time.monotonic() - start)
    write_json(results_path, doc)
    return doc


def build_zip(out: Path, *, kit: Path = KIT_ROOT) -> Path:
    """``autograder.zip``: setup.sh and run_autograder at the root, the grader kit beside them."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in SCRIPTS:
            _add(zf, kit / "gradescope" / name, name, executable=True)
        for item in ZIP_ITEMS:
            path = kit / item
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for f in files:
                rel = f.relative_to(kit)
                if not any(part in ZIP_SKIP or part.endswith(ZIP_SKIP) for part in rel.parts):
                    _add(zf, f, rel.as_posix())
    os.replace(tmp, out)
    return out


def _add(zf: zipfile.ZipFile, path: Path, arcname: str, *, executable: bool = False) -> None:
    info = zipfile.ZipInfo(arcname, date_time=(2024, 1, 1, 0, 0, 0))
    mode = 0o755 if executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, path.read_bytes())
