"""The kit's own files, for its tests: where they are, and the learner-facing ones as committed.

A learner edits ``exercises/`` and ``notebooks/``; the kit's tests must not see those edits
(a filled-in stub is not "not started", an edited notebook is not out of date). So they read
the versions committed in git (``HEAD``), plus files git does not track yet (a new exercise
being added), and the working tree only where there is no git at all (a copied kit).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
LEARNER_FOLDERS = ("exercises", "notebooks")


def _git(*args: str) -> bytes | None:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def pristine_copy(dest: Path, folders: tuple[str, ...] = LEARNER_FOLDERS) -> Path:
    """``folders`` as committed, copied under ``dest`` (which is returned)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = _git("archive", "--format=tar", "HEAD", "--", *folders)
    untracked = _git("ls-files", "--others", "--exclude-standard", "-z", "--", *folders)
    if archive is None or untracked is None:           # no git here: the working tree it is
        for folder in folders:
            shutil.copytree(ROOT / folder, dest / folder, dirs_exist_ok=True)
        return dest
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}   # 3.10.12+, 3.11.4+
        tar.extractall(dest, **safe)
    for name in filter(None, untracked.decode().split("\0")):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, dest / name)
    return dest


def pristine_text(relative: str) -> str:
    """One file's text as committed (the working tree's where git does not know it)."""
    committed = _git("show", f"HEAD:{relative}")
    return committed.decode("utf-8") if committed is not None else (ROOT / relative).read_text()
