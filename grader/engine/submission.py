"""Turn what a learner hands in (a folder, a ``.zip``, a notebook) into a folder of modules.

The result is a scratch copy: the worker imports from there, and the grader reads the
same files as text for its static checks. Anything unreadable becomes a ``SubmissionError``
with a reason a person can act on, never a crash.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.checks.policy import check_submission, refusal_text
from grader.engine.notebook_source import extract_notebook
from grader.errors import SubmissionError

MAX_FILE_BYTES = 2 << 20
MAX_TOTAL_BYTES = 20 << 20
MAX_FILES = 200
NOT_A_FILE = ("{name} is a link or a special file, so it was left out: a submission holds "
              "plain files (a link is never followed, whatever it points to)")


@dataclass
class LoadedSubmission:
    name: str
    source: Path
    directory: Path
    modules: set[str]
    sha256: str
    notes: list[str] = field(default_factory=list)
    cells: dict[str, list[dict]] = field(default_factory=dict)   # a notebook's module -> cell spans
    refused: dict[str, str] = field(default_factory=dict)        # module -> what the policy refused


def submission_name(path: Path) -> str:
    path = Path(path)
    return path.stem if path.suffix.lower() in (".zip", ".ipynb") else path.name


def load_submission(path: Path, dest: Path, *, exercise_ids: list[str] | tuple[str, ...]) -> LoadedSubmission:
    """Copy the submission's Python files into ``dest`` and say which exercises it has."""
    path = Path(path)
    dest.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    cells: dict[str, list[dict]] = {}
    if not path.exists():
        raise SubmissionError(f"{path} does not exist")
    if path.is_dir():
        notes += _copy_folder(_code_folder(path), dest)
    elif path.suffix.lower() == ".zip":
        _extract_zip(path, dest)
        inner = _code_folder(dest)
        if inner != dest:
            for f in inner.glob("*.py"):
                shutil.move(str(f), dest / f.name)
    elif path.suffix.lower() == ".ipynb":
        exercise, spans, found = extract_notebook(path, dest, exercise_ids=exercise_ids)
        cells[exercise] = spans
        notes += found
    elif path.suffix.lower() == ".py":
        (dest / path.name).write_bytes(_read_capped(path))
    else:
        raise SubmissionError(f"{path.name} is not a folder, a .zip, a .py file or a notebook")
    files = sorted(dest.glob("*.py"))
    if not files:
        raise SubmissionError(f"{path.name} holds no Python files")
    return LoadedSubmission(name=submission_name(path), source=path, directory=dest,
                            modules={f.stem for f in files if f.stem in exercise_ids},
                            sha256=_digest(files), notes=notes,
                            cells={m: s for m, s in cells.items() if m in exercise_ids})


def apply_policy(loaded: LoadedSubmission) -> None:
    """Check every file of the copy with the static policy before anything is imported: a
    refused file is deleted from the copy (so no import can reach it), and an exercise module
    that is refused is reported with the policy's reasons instead of being run."""
    notebook = loaded.source.name
    cells = {f"{m}.py": (notebook, spans) for m, spans in loaded.cells.items()}
    for rel, violations in check_submission(loaded.directory, cells=cells).items():
        if not violations:
            continue
        (loaded.directory / rel).unlink(missing_ok=True)
        module = rel.removesuffix(".py")
        if module in loaded.modules:
            loaded.refused[module] = refusal_text(violations)


def _code_folder(folder: Path) -> Path:
    """The folder itself, or its only subfolder when the code sits one level down (a link to a
    folder is not followed)."""
    if any(folder.glob("*.py")):
        return folder
    subs = [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()
            and not p.name.startswith((".", "__"))]
    if len(subs) == 1 and any(subs[0].glob("*.py")):
        return subs[0]
    return folder


def _copy_folder(src: Path, dest: Path) -> list[str]:
    """Copy the folder's Python files; return notes. A link is never followed (it could point
    at the kit's solutions, a root-only file or ``/dev/zero``): it is left out, and said so."""
    total = 0
    notes = []
    for f in sorted(src.glob("*.py"))[:MAX_FILES]:
        if f.is_symlink() or not f.is_file():
            notes.append(NOT_A_FILE.format(name=f.name))
            continue
        data = _read_capped(f)
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise SubmissionError(f"the submission's Python files exceed {MAX_TOTAL_BYTES >> 20} MiB")
        (dest / f.name).write_bytes(data)
    return notes


def _read_capped(path: Path) -> bytes:
    """The file's bytes, read without following a link and never more than the limit."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SubmissionError(NOT_A_FILE.format(name=path.name))
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise SubmissionError(f"{path.name} is larger than {MAX_FILE_BYTES >> 20} MiB")
    return data


def _extract_zip(path: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            total = 0
            for m in members[: MAX_FILES * 5]:
                parts = PurePosixPath(m.filename).parts
                if m.filename.startswith("/") or ".." in parts or "__MACOSX" in parts:
                    continue
                if not m.filename.endswith(".py") or len(parts) > 2:
                    continue
                total += m.file_size
                if m.file_size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
                    raise SubmissionError(f"{path.name}: {m.filename} is too large to grade")
                target = dest.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
    except zipfile.BadZipFile as exc:
        raise SubmissionError(f"{path.name} is not a readable zip file ({exc})") from None
    except (OSError, EOFError, RuntimeError) as exc:  # truncated or encrypted members
        raise SubmissionError(f"{path.name} could not be unpacked ({exc})") from None


def _digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()
