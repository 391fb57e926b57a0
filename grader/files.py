"""Atomic writes: a reader, or a crash at any moment (even ``kill -9``), sees the old file or
the new one, whole, never half of one. Every result the grader writes goes through here.

What it writes is readable by the owner's group, never by others: files 0640 and folders 0750,
a file's group that of its folder (so a course's staff group can read a batch's output
folder; where the grader may not give a file that group, it keeps the default one)."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path


FILE_MODE = 0o640
DIR_MODE = 0o750


def make_dirs(path: Path) -> Path:
    """``path`` and its missing parents, each new one 0750 (an existing folder is left as it is)."""
    path = Path(path)
    missing = []
    for p in (path, *path.parents):
        if p.exists():
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            continue
        # The parent's group, and its set-group-id bit (which makes new files inherit it).
        parent = os.stat(p.parent)
        try:
            os.chown(p, -1, parent.st_gid)
        except OSError:
            pass
        os.chmod(p, DIR_MODE | (parent.st_mode & stat.S_ISGID))
    return path


def write_text(path: Path, text: str, *, mode: int = FILE_MODE) -> None:
    path = Path(path)
    make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            os.fchmod(f.fileno(), mode)
            try:
                os.fchown(f.fileno(), -1, os.stat(path.parent).st_gid)
            except OSError:     # not a member of that group: the default group stays
                pass
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
