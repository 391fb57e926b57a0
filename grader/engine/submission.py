"""Turn what a learner hands in (a folder, a ``.zip``, a notebook) into a folder of modules.

The result is a scratch copy: the worker imports from there, and the grader reads the
same files as text for its static checks. Anything unreadable becomes a ``SubmissionError``
with a reason a person can act on, never a crash.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.engine.notebook_source import extract_notebook
from grader.errors import SubmissionError

MAX_FILE_BYTES = 2 << 20
MAX_TOTAL_BYTES = 20 << 20
MAX_FILES = 200


@dataclass
class LoadedSubmission:
    name: str
    source: Path
    directory: Path
    modules: set[str]
    sha256: str
    notes: list[str] = field(default_factory=list)


def submission_name(path: Path) -> str:
    path = Path(path)
    return path.stem if path.suffix.lower() in (".zip", ".ipynb") else path.name


def load_submission(path: Path, dest: Path, *, exercise_ids: list[str] | tuple[str, ...]) -> LoadedSubmission:
    """Copy the submission's Python files into ``dest`` and say which exercises it has."""
    path = Path(path)
    dest.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    if not path.exists():
        raise SubmissionError(f"{path} does not exist")
    if path.is_dir():
        _copy_folder(_code_folder(path), dest)
    elif path.suffix.lower() == ".zip":
        _extract_zip(path, dest)
        inner = _code_folder(dest)
        if inner != dest:
            for f in inner.glob("*.py"):
                shutil.move(str(f), dest / f.name)
    elif path.suffix.lower() == ".ipynb":
        notes += extract_notebook(path, dest, exercise_ids=exercise_ids)
    elif path.suffix.lower() == ".py":
        shutil.copyfile(path, dest / path.name)
    else:
        raise SubmissionError(f"{path.name} is not a folder, a .zip, a .py file or a notebook")
    files = sorted(dest.glob("*.py"))
    if not files:
        raise SubmissionError(f"{path.name} holds no Python files")
    return LoadedSubmission(name=submission_name(path), source=path, directory=dest,
                            modules={f.stem for f in files if f.stem in exercise_ids},
                            sha256=_digest(files), notes=notes)


def _code_folder(folder: Path) -> Path:
    """The folder itself, or its only subfolder when the code sits one level down."""
    if any(folder.glob("*.py")):
        return folder
    subs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    if len(subs) == 1 and any(subs[0].glob("*.py")):
        return subs[0]
    return folder


def _copy_folder(src: Path, dest: Path) -> None:
    total = 0
    for f in sorted(src.glob("*.py"))[:MAX_FILES]:
        size = f.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SubmissionError(f"{f.name} is larger than {MAX_FILE_BYTES >> 20} MiB")
        total += size
        if total > MAX_TOTAL_BYTES:
            raise SubmissionError(f"the submission's Python files exceed {MAX_TOTAL_BYTES >> 20} MiB")
        shutil.copyfile(f, dest / f.name)


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
