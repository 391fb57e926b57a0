"""Turn what a learner hands in (a folder, a ``.zip``, a notebook, a ``.py`` file) into a folder
of modules.

``intake.py`` finds the exercise modules wherever they sit; this module writes the chosen ones
(a notebook as its generated module) and the ``.py`` helpers beside them into a scratch copy:
the worker imports from there, and the grader reads the same files as text for its static
checks. Anything unreadable becomes a ``SubmissionError`` with a reason a person can act on,
never a crash. The submission entry itself may not be a link (nor anything inside it).
"""

from __future__ import annotations

import ast
import hashlib
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from grader.checks.policy import check_submission, refusal_text
from grader.engine.intake import (MAX_FILE_BYTES, NOT_A_FILE, Archive, Folder, Intake, Single,
                                  find_modules)
from grader.engine.notebook_source import module_source, notebook_cells, parse_notebook
from grader.errors import SubmissionError

NOT_A_SUBMISSION = "{name} is not a folder, a .zip, a .py file or a notebook"
BAD_ZIP = "{name} is not a readable zip file ({reason})"
UNPACK_FAILED = "{name} could not be unpacked ({reason})"


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
    notebooks: dict[str, str] = field(default_factory=dict)      # module -> the notebook it came from


def submission_name(path: Path) -> str:
    path = Path(path)
    return path.stem if path.suffix.lower() in (".zip", ".ipynb") else path.name


def load_submission(path: Path, dest: Path, *, exercise_ids: list[str] | tuple[str, ...]) -> LoadedSubmission:
    """Copy the submission's exercise modules and their helpers into ``dest``."""
    path = Path(path)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise SubmissionError(f"{path} does not exist") from None
    if stat.S_ISLNK(mode):
        raise SubmissionError(NOT_A_FILE.format(name=path.name))
    suffix = path.suffix.lower()
    if stat.S_ISDIR(mode):
        source = Folder(path)
    elif suffix == ".zip":
        source = _archive(path)
    elif suffix in (".ipynb", ".py"):
        source = Single(path)
    else:
        raise SubmissionError(NOT_A_SUBMISSION.format(name=path.name))
    try:
        intake = find_modules(source, path.name, exercise_ids)
        loaded = LoadedSubmission(submission_name(path), path, dest, set(intake.chosen), "",
                                  list(intake.notes))
        _materialize(source, intake, loaded)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error) as exc:
        if not isinstance(source, Archive):
            raise
        raise SubmissionError(UNPACK_FAILED.format(name=path.name, reason=exc)) from None
    finally:
        if isinstance(source, Archive):
            source.close()
    loaded.sha256 = _digest(sorted(dest.glob("*.py")))
    return loaded


def _archive(path: Path) -> Archive:
    try:
        return Archive(path)
    except zipfile.BadZipFile as exc:
        raise SubmissionError(BAD_ZIP.format(name=path.name, reason=exc)) from None
    except OSError as exc:
        raise SubmissionError(UNPACK_FAILED.format(name=path.name, reason=exc)) from None


def _materialize(source: "Folder | Archive", intake: Intake, loaded: LoadedSubmission) -> None:
    """Write each chosen module (a notebook as its generated module) and the helpers."""
    dest = loaded.directory
    for ex, chosen in intake.chosen.items():
        if chosen.notebook:
            nb = parse_notebook(chosen.data, chosen.item.path)
            text, spans, notes = module_source(notebook_cells(nb))
            (dest / f"{ex}.py").write_text(text, encoding="utf-8")
            loaded.cells[ex] = spans
            loaded.notebooks[ex] = chosen.item.path
            loaded.notes += [f"{chosen.item.path}, {note}" for note in notes]
        else:
            (dest / f"{ex}.py").write_bytes(chosen.data)
    for item in intake.helpers:
        try:
            data = source.read(item, MAX_FILE_BYTES)
        except SubmissionError as exc:
            loaded.notes.append(str(exc))
            continue
        intake.budget.charge(len(data))
        (dest / item.name).write_bytes(data)


def apply_policy(loaded: LoadedSubmission) -> None:
    """Check every file of the copy with the static policy before anything is imported: a
    refused file is deleted from the copy (so no import can reach it), and an exercise module
    that is refused is reported with the policy's reasons instead of being run.

    First the top-level modules that the graded ones never import (directly or through each
    other) are deleted from the copy: nothing can import them (the policy and the lock refuse
    dynamic imports), and checking them would import their libraries for nothing (grading
    ex01 from a folder holding ex04 would import PyTorch)."""
    keep = reachable(loaded.directory, loaded.modules)
    for path in loaded.directory.glob("*.py"):
        if path.stem not in keep:
            path.unlink()
    cells = {f"{m}.py": (loaded.notebooks.get(m, loaded.source.name), spans)
             for m, spans in loaded.cells.items()}
    for rel, violations in check_submission(loaded.directory, cells=cells).items():
        if not violations:
            continue
        (loaded.directory / rel).unlink(missing_ok=True)
        module = rel.removesuffix(".py")
        if module in loaded.modules:
            loaded.refused[module] = refusal_text(violations)


def reachable(directory: Path, roots) -> set[str]:
    """The top-level modules of ``directory`` that ``roots`` import, directly or through one
    another (``import m``, ``from m import f``, ``from . import m``), ``roots`` included. A file
    that does not parse imports nothing here; the policy reports it if it is reached."""
    present = {p.stem for p in directory.glob("*.py")} | {p.name for p in directory.iterdir()
                                                         if p.is_dir()}
    seen, queue = set(), [m for m in roots]
    while queue:
        module = queue.pop()
        if module in seen:
            continue
        seen.add(module)
        path = directory / f"{module}.py"
        try:
            tree = ast.parse(path.read_bytes()) if path.is_file() else None
        except (SyntaxError, ValueError, OSError):
            tree = None
        for node in ast.walk(tree) if tree is not None else ():
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ([node.module.split(".")[0]] if node.module else []) + \
                        ([a.name for a in node.names] if node.level and not node.module else [])
            queue += [n for n in names if n in present and n not in seen]
    return seen


def _digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()
