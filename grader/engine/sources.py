"""What a submission holds, read safely: a folder tree walked without following links, one
file handed in alone, or a zip's member list; files read only when regular, never through a
link, never past a cap (a zip's stated sizes are not trusted).

``Budget`` bounds what one submission may cost to read: ``MAX_READS`` files and
``MAX_TOTAL_BYTES`` in all; past that the submission is a ``SubmissionError`` that says why.
``MAX_ENTRIES`` bounds how many names are looked at.
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError

MAX_ENTRIES = 5000                 # files and folders looked at (names only)
MAX_READS = 300                    # files opened and read
MAX_FILE_BYTES = 2 << 20           # one .py file
MAX_NOTEBOOK_BYTES = 16 << 20      # one notebook (outputs and pictures make them large)
MAX_TOTAL_BYTES = 64 << 20         # everything read from one submission
MAX_ARCHIVE_BYTES = 256 << 20      # a zip file itself
SKIPPED_DIRS = {"__MACOSX", "__pycache__", "node_modules", "site-packages", "venv", "env"}

NOT_A_FILE = ("{name} is a link or a special file, so it was left out: a submission holds "
              "plain files (a link is never followed, whatever it points to)")
TOO_LARGE = "{name} is larger than {limit} MiB, so it was left out"
TOO_MANY_ENTRIES = "looked at the first {limit} files and folders only"
TOO_MUCH_READ = ("{name}: stopped reading after {limit} MiB (or {reads} files); a submission "
                 "holds its exercise modules, not data sets or environments")
ARCHIVE_TOO_LARGE = "{name} is larger than {limit} MiB, too large to unpack"


@dataclass
class Item:
    path: str            # relative POSIX path inside the submission
    size: int
    mtime: float

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def folder(self) -> str:
        parent = str(PurePosixPath(self.path).parent)
        return "" if parent == "." else parent

    @property
    def depth(self) -> int:
        return len(PurePosixPath(self.path).parts) - 1


class Budget:
    """What reading a submission may cost; past it, a clear ``SubmissionError``."""

    def __init__(self, label: str) -> None:
        self.label, self.bytes, self.reads = label, 0, 0

    def charge(self, n: int) -> None:
        self.bytes += n
        self.reads += 1
        if self.bytes > MAX_TOTAL_BYTES or self.reads > MAX_READS:
            raise SubmissionError(TOO_MUCH_READ.format(name=self.label, limit=MAX_TOTAL_BYTES >> 20,
                                                       reads=MAX_READS))


class Folder:
    """A folder tree, walked without following links; special files are never opened."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def items(self) -> tuple[list[Item], list[str]]:
        items, notes, seen = [], [], 0
        stack = [""]
        while stack:
            rel = stack.pop()
            try:
                with os.scandir(self.root / rel) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                seen += 1
                if seen > MAX_ENTRIES:
                    return items, notes + [TOO_MANY_ENTRIES.format(limit=MAX_ENTRIES)]
                path = f"{rel}/{entry.name}" if rel else entry.name
                if entry.name.startswith(".") or entry.name in SKIPPED_DIRS:
                    continue
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(path)
                elif stat.S_ISREG(st.st_mode):
                    items.append(Item(path, st.st_size, st.st_mtime))
                elif entry.name.endswith((".py", ".ipynb")) or stat.S_ISLNK(st.st_mode):
                    notes.append(NOT_A_FILE.format(name=path))
        return sorted(items, key=lambda i: i.path), notes

    def read(self, item: Item, limit: int) -> bytes:
        return read_capped(self.root / item.path, limit)


class Single(Folder):
    """One file handed in alone (a ``.py`` or a notebook)."""

    def __init__(self, path: Path) -> None:
        super().__init__(Path(path).parent)
        self.file = Path(path)

    def items(self) -> tuple[list[Item], list[str]]:
        st = os.lstat(self.file)
        if not stat.S_ISREG(st.st_mode):
            raise SubmissionError(NOT_A_FILE.format(name=self.file.name))
        return [Item(self.file.name, st.st_size, st.st_mtime)], []


class Archive:
    """A zip's members; links, absolute paths and ``..`` are left out, sizes are not trusted."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if os.lstat(self.path).st_size > MAX_ARCHIVE_BYTES:
            raise SubmissionError(ARCHIVE_TOO_LARGE.format(name=self.path.name, limit=MAX_ARCHIVE_BYTES >> 20))
        fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        self.zf = zipfile.ZipFile(os.fdopen(fd, "rb"))
        self.members: dict[str, zipfile.ZipInfo] = {}

    def items(self) -> tuple[list[Item], list[str]]:
        items, notes = [], []
        for n, info in enumerate(self.zf.infolist()):
            if n >= MAX_ENTRIES:
                notes.append(TOO_MANY_ENTRIES.format(limit=MAX_ENTRIES))
                break
            parts = PurePosixPath(info.filename).parts
            if (info.is_dir() or info.filename.startswith("/") or ".." in parts
                    or any(p.startswith(".") or p in SKIPPED_DIRS for p in parts)):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                notes.append(NOT_A_FILE.format(name=info.filename))
                continue
            path = "/".join(parts)
            self.members[path] = info
            items.append(Item(path, info.file_size, _zip_time(info)))
        return sorted(items, key=lambda i: i.path), notes

    def read(self, item: Item, limit: int) -> bytes:
        with self.zf.open(self.members[item.path]) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise SubmissionError(TOO_LARGE.format(name=item.path, limit=limit >> 20))
        return data

    def close(self) -> None:
        self.zf.close()


def _zip_time(info: zipfile.ZipInfo) -> float:
    import datetime as dt

    try:
        return dt.datetime(*info.date_time).timestamp()
    except (ValueError, OverflowError):
        return 0.0


def read_capped(path: Path, limit: int) -> bytes:
    """A file's bytes, read without following a link, from a regular file only, never more
    than ``limit`` (a larger file is a ``SubmissionError``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        raise SubmissionError(NOT_A_FILE.format(name=Path(path).name)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SubmissionError(NOT_A_FILE.format(name=Path(path).name))
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise SubmissionError(TOO_LARGE.format(name=Path(path).name, limit=limit >> 20))
    return data
