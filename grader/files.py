"""Atomic writes: a reader, or a crash at any moment (even ``kill -9``), sees the old file or
the new one, whole, never half of one. Every result the grader writes goes through here."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json(path: Path, data: dict) -> None:
    write_text(path, json.dumps(data, indent=2, allow_nan=True) + "\n")


# Scratch folders are named for the process that made them, so that one left behind by a
# process that was killed (kill -9 of a batch, a child past its time limit) can be recognised
# and removed later: only when that process is gone.
SCRATCH_PREFIX = "grader-"


def scratch_dir(kind: str = "") -> Path:
    """A new private folder under the temporary directory, named ``grader-<pid>-<kind>...``."""
    return Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-{kind}"))


def sweep_stale_scratch(root: Path | None = None) -> int:
    """Remove the scratch folders of processes that no longer exist; return how many."""
    import shutil

    root = Path(root or tempfile.gettempdir())
    removed = 0
    for folder in root.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or not folder.is_dir() or folder.stat().st_uid != os.getuid():
            continue
        try:
            os.kill(int(pid), 0)
            continue                      # its process is alive (or the pid was reused): keep
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed
