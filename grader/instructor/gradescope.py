"""Gradescope: grade the uploaded submission into ``results.json``, and build ``autograder.zip``.

The platform unzips ``autograder.zip`` into ``/autograder/source``, runs ``setup.sh`` once
when it builds the image, then ``run_autograder`` for every submission, with the student's
files in ``/autograder/submission``; whatever is in ``/autograder/results/results.json``
afterwards is the grade (its format: ``report/gradescope_format.py``).

The zip is one assignment's: its ``course.toml`` names the exercises and the visibilities
(public checks' tests, hidden checks' tests) and carries the course's points, thresholds
and speed targets; only those exercises' suites and baselines go in, with every check,
public and hidden. No ``solutions/``: the speed checks time against ``baselines/``, and the
registry reads the exercises from the manifest the zip carries.
"""

from __future__ import annotations

import json
import os
import stat
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from grader import registry
from grader.course import Course, for_settings
from grader.paths import KIT_ROOT
from grader.report.gradescope_format import failed_results, to_results
from grader.settings import Settings

ROOT_ENV = "AUTOGRADER_ROOT"
DEFAULT_ROOT = Path("/autograder")
# What goes into autograder.zip besides setup.sh and run_autograder at its root, the chosen
# exercises' suites and baselines, course.toml and the exercise manifest (written for it).
ZIP_ITEMS = ("grader", "data", "pyproject.toml", "constraints.txt", "README.md")
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


def with_visibility(course: Course, visibility: str | None, hidden_visibility: str | None) -> Course:
    """The course with the visibilities given on the command line (None: the course's)."""
    g = course.gradescope
    return replace(course, gradescope=replace(g, visibility=visibility or g.visibility,
                                              hidden_visibility=hidden_visibility or g.hidden_visibility))


def run(*, submission: Path, results_path: Path, settings: Settings,
        exercises: Sequence[str] = (), course: Course | None = None) -> dict:
    """Grade ``submission`` and write ``results_path``; always writes a document, even when the
    grader itself fails (the student then sees that the autograder, not their code, failed)."""
    from grader.files import write_json
    from grader.engine.session import grade_submission

    start = time.monotonic()
    try:
        course = course or for_settings(settings)
        result = grade_submission(submission=find_submission(submission), exercises=exercises,
                                  settings=settings, course=course)
        g = course.gradescope
        doc = to_results(result, execution_time=time.monotonic() - start, visibility=g.visibility,
                         hidden_visibility=g.hidden_visibility, leaderboard=g.leaderboard)
    except Exception as exc:   # noqa: BLE001 - the platform must always get a results.json
        doc = failed_results(f"{type(exc).__name__}: {exc}", execution_time=time.monotonic() - start)
    write_json(results_path, doc)
    return doc


def build_zip(out: Path, *, kit: Path = KIT_ROOT, course: Course | None = None) -> Path:
    """``autograder.zip`` of one assignment (``course``: its exercises and visibilities; default
    the kit's course.toml): setup.sh and run_autograder at the root, the grader kit beside them."""
    out = Path(out)
    course = course or Course()
    infos = registry.select(None, course)
    course = course.with_exercises(e.id for e in infos)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    chosen = {f"grader/suites/{e.suite.name}" for e in infos} | {f"baselines/{e.filename}" for e in infos}
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in SCRIPTS:
            _add(zf, (kit / "gradescope" / name).read_bytes(), name, executable=True)
        for item in (*ZIP_ITEMS, "baselines"):
            path = kit / item
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for f in files:
                rel = f.relative_to(kit).as_posix()
                if any(part in ZIP_SKIP or part.endswith(ZIP_SKIP) for part in rel.split("/")):
                    continue
                if (rel.startswith("grader/suites/test_") or rel.startswith("baselines/")) \
                        and rel not in chosen:
                    continue
                _add(zf, f.read_bytes(), rel)
        _add(zf, course.to_toml().encode(), "course.toml")
        _add(zf, json.dumps(registry.manifest(infos), indent=2).encode(), "grader/suites/exercises.json")
    os.replace(tmp, out)
    return out


def _add(zf: zipfile.ZipFile, data: bytes, arcname: str, *, executable: bool = False) -> None:
    info = zipfile.ZipInfo(arcname, date_time=(2024, 1, 1, 0, 0, 0))
    mode = 0o755 if executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)
