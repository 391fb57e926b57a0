"""What a batch grades: the submissions under one folder, named, grouped and timed.

Every entry directly under the folder is one submission, named by its file name (a ``.zip``'s
or notebook's stem). An LMS's bulk download is grouped by learner: Canvas names each file
``lastfirst_<user id>_<submission id>_<file>`` (``_LATE_`` before the user id when late),
so all the files of ``smithjohn_1234_...`` are one submission named ``smithjohn_1234``;
Moodle's ``Jane Doe_4321_assignsubmission_file_...`` files and folders are ``Jane Doe_4321``.
A learner's several files are staged into one folder (copied, capped, never through a link)
for the intake to read. A submission's time is Gradescope's ``submission_metadata.json``
(``created_at``) where it has one, else the newest modification time of its files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from grader.engine.intake import MAX_FILE_BYTES, MAX_NOTEBOOK_BYTES, Folder, lms_parts, read_capped
from grader.engine.submission import submission_name
from grader.errors import SubmissionError

SKIPPED_NAMES = ("__MACOSX", "__pycache__")
MOODLE_FOLDER = re.compile(r"^(?P<learner>.+?_\d+)_assignsubmission_file_?$")
GRADESCOPE_METADATA = "submission_metadata.json"
FROM_GRADESCOPE, FROM_FILES = "Gradescope's submission metadata", "the files' modification time"


class BatchError(ValueError):
    """The batch cannot start (a missing folder, a bad --shard): a usage error."""


@dataclass(frozen=True)
class Entry:
    name: str                           # the gradebook's row, results/<name>.json, feedback/<name>.md
    path: Path                          # what is graded (a staged folder for a group of files)
    sources: tuple[Path, ...] = ()      # the files an LMS group was made of


def discover(folder: Path) -> list[Entry]:
    """Every entry directly under ``folder`` (see the module docstring), sorted by name.

    Folders, ``.zip`` and ``.ipynb`` files are the usual kinds; any other file becomes a
    submission too, so that it shows up in the gradebook as an error instead of vanishing.
    Two entries with the same name (``alice/`` and ``alice.zip``) keep their full file names.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BatchError(f"{folder} is not a folder of submissions")
    paths = [p for p in sorted(folder.iterdir())
             if not p.name.startswith(".") and p.name not in SKIPPED_NAMES]
    groups: dict[str, list[Path]] = {}
    for p in paths:
        groups.setdefault(_learner(p), []).append(p)
    plain = [(submission_name(p), p) for key, ms in groups.items() if key.startswith("\0") for p in ms]
    lms = {key: ms for key, ms in groups.items() if not key.startswith("\0")}
    names = [n for n, _ in plain] + list(lms)
    entries = [Entry(n if names.count(n) == 1 else p.name, p, (p,)) for n, p in plain]
    entries += [Entry(key, ms[0] if len(ms) == 1 else folder / key, tuple(ms)) for key, ms in lms.items()]
    return sorted(entries, key=lambda e: e.name)


def _learner(path: Path) -> str:
    """The LMS learner an entry belongs to, or ``"\\0<file name>"`` for an entry of its own."""
    moodle = MOODLE_FOLDER.match(path.name)
    if moodle and not path.is_symlink() and path.is_dir():
        return moodle.group("learner")
    key, _ = lms_parts(path.name)
    if key is None or path.is_symlink() or not path.is_file():
        return "\0" + path.name
    return key


def stage(entries: list[Entry], scratch: Path) -> list[Entry]:
    """Copy each group's files into a folder of its own under ``scratch`` (read capped, never
    through a link); single entries are graded where they are."""
    staged = []
    for e in entries:
        if len(e.sources) <= 1:
            staged.append(e)
            continue
        target = scratch / f"group-{len(staged)}" / e.name     # the intake's messages name it
        target.mkdir(parents=True)
        for src in e.sources:
            limit = MAX_NOTEBOOK_BYTES if src.suffix == ".ipynb" else MAX_FILE_BYTES
            try:
                (target / src.name).write_bytes(read_capped(src, limit))
            except SubmissionError:
                continue          # a link or a special file: left out, as inside a folder
        staged.append(Entry(e.name, target, e.sources))
    return staged


def parse_shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise BatchError(f"--shard {text!r}: expected K/N, e.g. 2/4") from None
    if not 1 <= k <= n:
        raise BatchError(f"--shard {text!r}: K must be between 1 and N")
    return k, n


def shard(entries: list[Entry], k: int, n: int) -> list[Entry]:
    """Shard K of N (1-based): every N-th submission in name order, so shards are balanced."""
    ordered = sorted(entries, key=lambda e: e.name)
    return [e for i, e in enumerate(ordered) if i % n == k - 1]


def submitted_at(entry: Entry) -> tuple[dt.datetime | None, str]:
    """When the submission was handed in, and where that was read from."""
    for src in entry.sources or (entry.path,):
        meta = src / GRADESCOPE_METADATA
        try:
            created = json.loads(read_capped(meta, 1 << 20)).get("created_at")
            return dt.datetime.fromisoformat(str(created)), FROM_GRADESCOPE
        except (SubmissionError, ValueError, AttributeError, TypeError):
            pass
    newest = None
    for src in entry.sources or (entry.path,):
        try:
            st = os.lstat(src)
        except OSError:
            continue
        times = [st.st_mtime]
        if stat.S_ISDIR(st.st_mode):
            times = [i.mtime for i in Folder(src).items()[0]] or times
        newest = max([t for t in times] + ([newest] if newest is not None else []))
    if newest is None:
        return None, ""
    return dt.datetime.fromtimestamp(newest, dt.timezone.utc).replace(microsecond=0), FROM_FILES
