"""When a result on disk is still current: the batch's resume rule.

A result is reused only when it graded the same submission (``submission_sha256``: its
modules as loaded) with the same grader (``grader_fingerprint``). The grader's fingerprint
covers everything that can change a result besides the submission: every file of the grader
package (suites, engine, messages, ...), ``baselines/``, ``solutions/`` and the embedded data,
the assignment (``course.toml``), the settings that change an outcome (seed, timing, device,
threads, sandbox, limits), the device the checks would see, and the versions of Python,
NumPy, PyTorch, pytest and nbformat. Change any of them and the next batch regrades everything.

A submission that cannot be loaded is fingerprinted from what it is on disk (names, sizes and
times, read without following a link and without opening a file): a link to ``/dev/zero`` or
a huge folder costs nothing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import stat
from pathlib import Path
from typing import Sequence

from grader.course import Course
from grader.engine.intake import Folder
from grader.engine.submission import load_submission
from grader.files import scratch_dir
from grader.paths import BASELINES_DIR, DATA_DIR, PACKAGE, SOLUTIONS_DIR
from grader.results import Submission
from grader.settings import Settings

VERSIONS = ("numpy", "torch", "pytest", "nbformat")
SKIPPED = ("__pycache__",)


def grader_fingerprint(settings: Settings, course: Course) -> str:
    h = hashlib.sha256()
    for folder in (PACKAGE, BASELINES_DIR, SOLUTIONS_DIR, DATA_DIR):
        for path in _files(folder):
            h.update(f"{folder.name}/{path.relative_to(folder)}".encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    h.update(b"course\0" + course.digest().encode())
    outcome = {"seed": settings.seed, "timing": settings.timing, "device": settings.device,
               "threads": settings.threads, "sandbox": settings.sandbox,
               "limits": settings.limits.to_dict(), "devices": devices(settings),
               "python": platform.python_version(), **{p: _version(p) for p in VERSIONS}}
    h.update(json.dumps(outcome, sort_keys=True).encode())
    return h.hexdigest()


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                  and not any(part in SKIPPED for part in p.relative_to(folder).parts)
                  and p.suffix != ".pyc")


def devices(settings: Settings) -> list[str]:
    """What the checks could run on, without importing torch: the GPUs the driver lists."""
    if settings.device == "cpu":
        return ["cpu"]
    found = ["cpu"]
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        try:
            model = next((line for line in info.read_text().splitlines() if line.startswith("Model")), "")
        except OSError:
            model = ""
        found.append(f"cuda {info.parent.name} {model}".strip())
    return found


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def submission_fingerprint(path: Path, exercise_ids: Sequence[str]) -> str:
    """The submission's sha256 as its result records it (the loaded Python files), or, for a
    submission that cannot be loaded, ``raw:`` and a digest of what it is on disk."""
    scratch = scratch_dir("fp-")
    try:
        return load_submission(path, scratch / "s", exercise_ids=list(exercise_ids)).sha256
    except Exception:
        return "raw:" + raw_digest(path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def raw_digest(path: Path) -> str:
    """Names, kinds, sizes and modification times: nothing is opened, no link is followed."""
    h = hashlib.sha256()
    try:
        st = os.lstat(path)
    except OSError:
        return h.hexdigest()
    h.update(f"{Path(path).name}\0{stat.S_IFMT(st.st_mode)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    if stat.S_ISDIR(st.st_mode):
        items, notes = Folder(Path(path)).items()
        for item in items:
            h.update(f"{item.path}\0{item.size}\0{item.mtime}\0".encode())
        h.update("\0".join(notes).encode())
    return h.hexdigest()


def is_finished(result: Submission | None, *, sha: str, fingerprint: str) -> bool:
    """A result on disk counts as done when it graded these bytes with this grader."""
    if result is None:
        return False
    env = result.environment
    return env.get("submission_sha256") == sha and env.get("grader_fingerprint") == fingerprint
