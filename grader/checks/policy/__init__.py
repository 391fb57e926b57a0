"""The static policy: every Python file of a submission is checked before anything is imported.

A learner's code runs in the same interpreter as the worker that measures it, so what that
code may name is limited to what the exercises need: NumPy, PyTorch and a few pure standard
modules (``rules.ALLOWED_TOP``), plus the learner's own modules, which are checked the
same way. A file with a violation is not imported at all; the grader reports the exercise as
an error with the messages, e.g.::

    ex06_vectorize.py line 236: starting a thread (`import threading`) is not allowed in these
    exercises (allowed: numpy, torch, math, ... and your own modules)

Entry points:

- ``check_submission(folder)``: every ``.py`` file below the folder (the scratch copy the
  worker imports from) -> ``{relative path: [PolicyViolation, ...]}``; an empty list means
  accepted. A file that imports a refused module of the learner's is refused too.
- ``check_source(text, filename)``: one file, for tests and tools.
- ``refusal_text(violations)``: the lines a learner reads for one refused file.
- ``droppable_cells(sources)`` (notebooks): cells that only plot or print, to leave out.

Wiring (for the loader and the notebook extractor): after ``load_submission`` has copied the
files, ``verdicts = check_submission(dest)``; delete every refused file from ``dest`` (so no
import can reach it) and report each refused exercise module as an error with
``refusal_text(verdicts[f"{exercise}.py"])``. ``extract_notebook`` leaves out the cells for which
``droppable_cells([cell.source for cell in cells])`` is true, before ``module_source``.

What a static reading cannot stop (objects handed back by library code, memory-unsafe views)
is for the worker's run-time lock; see ``scan`` for how far the reading goes.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from . import rules as R
from .libraries import library_named
from .names import Learner
from .notebooks import droppable_cell, droppable_cells, drop_magics  # noqa: F401 (API)
from .scan import Checker, Finding

Cells = tuple  # (notebook file name, [span, ...]) as engine/notebook_source writes them
MAX_FILE_BYTES = 2 << 20  # as submission.MAX_FILE_BYTES
MAX_FILES = 1000
SHOWN = 5  # violations listed per refused file; the rest are counted
MORE = "(and {n} more)"
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_UTF8 = {"utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig", "u8", "utf", "cp65001"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class PolicyViolation:
    file: str      # relative path of the file in the submission, e.g. "ex03_matmul.py"
    line: int      # 1-based, in that file (a notebook's messages name the cell instead)
    col: int       # 1-based
    rule: str      # e.g. "import", "builtin", "dunder", "module-value" (the rule ids of scan.py)
    message: str   # the sentence the learner reads

    def to_dict(self) -> dict:
        return asdict(self)


class _Refused(Exception):
    def __init__(self, what: str, why: str = "", line: int = 1) -> None:
        super().__init__(what)
        self.what, self.why, self.line = what, why, line


def check_source(source: str | bytes, filename: str, *, learner: dict[str, str] | None = None,
                 package: str = "") -> list[PolicyViolation]:
    """The violations of one file. ``learner``: the submission's other modules (dotted name ->
    source), which this file may import; ``package``: the file's package (``""`` at the top)."""
    sources = {name: (lambda text=text: text) for name, text in (learner or {}).items()}
    return _check(source, filename, Learner(sources), package)[0]


def check_submission(directory: str | os.PathLike, *, cells: dict[str, Cells] | None = None
                     ) -> dict[str, list[PolicyViolation]]:
    """Every ``.py`` file below ``directory`` -> its violations (empty: the file may be imported).
    ``cells``: for a module made from a notebook (relative path -> (notebook name, spans)), so
    that messages name the notebook's cell instead of the module's line."""
    root = Path(directory)
    files = _python_files(root)
    modules = {m: rel for rel in files if (m := _module_name(rel))}
    sources = {m: (lambda rel=rel: _read_text(root / rel)) for m, rel in modules.items()}
    learner = Learner(sources)
    verdicts: dict[str, list[PolicyViolation]] = {}
    imports: dict[str, list[tuple[str, int, int]]] = {}
    for i, rel in enumerate(files):
        display = _clean(rel)
        if i >= MAX_FILES:
            verdicts[rel] = [_violation(rel, display, 1, 1, "unreadable", R.TOO_MANY.format(n=MAX_FILES), "")]
            continue
        path = root / rel
        if path.is_symlink() or not path.is_file():
            verdicts[rel] = [_violation(rel, display, 1, 1, "unreadable", R.NOT_A_FILE, "")]
            continue
        found: list[PolicyViolation] = []
        module = _module_name(rel)
        top = rel.split("/")[0].removesuffix(".py")
        if module and library_named(top):
            found.append(_violation(rel, display, 1, 1, "file-name", R.SHADOWS.format(file=display),
                                    R.SHADOWS_WHY.format(module=top)))
        try:
            data = path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else None
        except OSError as exc:
            data, found = None, found + [_violation(rel, display, 1, 1, "unreadable", R.UNCHECKABLE.format(
                error=type(exc).__name__), "")]
        if data is None and not found:
            found.append(_violation(rel, display, 1, 1, "unreadable",
                                    R.TOO_LARGE.format(limit=MAX_FILE_BYTES >> 20), ""))
        if data is not None:
            package = module.rpartition(".")[0] if module and not rel.endswith("__init__.py") else (module or "")
            violations, imports[rel] = _check(data, rel, learner, package, (cells or {}).get(rel))
            found += violations
        verdicts[rel] = found
    _refuse_importers(verdicts, imports, modules)
    return {rel: sorted(v, key=lambda v: (v.line, v.col)) for rel, v in verdicts.items()}


def refusal_text(violations: list[PolicyViolation], limit: int = SHOWN) -> str:
    lines = [v.message for v in violations[:limit]]
    if len(violations) > limit:
        lines.append(MORE.format(n=len(violations) - limit))
    return "\n".join(lines)


# -- one file ------------------------------------------------------------------------------------
def _check(source: str | bytes, filename: str, learner: Learner, package: str,
           cells: Cells | None = None):
    display = _clean(filename)
    try:
        text = _decode(source)
        tree = ast.parse(text, filename=display)
    except _Refused as refused:
        return [_violation(filename, display, refused.line, 1, "unreadable", refused.what, refused.why)], []
    except SyntaxError:
        return [], []  # not the policy's matter: the import fails, nothing runs, the grader says why
    except (RecursionError, MemoryError):
        return [_violation(filename, display, 1, 1, "unreadable", R.TOO_DEEP, "")], []
    except ValueError:  # "source code string cannot contain null bytes"
        return [_violation(filename, display, 1, 1, "unreadable", R.NULL_BYTE, "")], []
    where = _where(display, cells)
    try:
        checker = Checker(text, tree, display, learner, package)
        findings = checker.run(tree.body)
    except RecursionError:
        findings, checker = [Finding(1, 1, "unreadable", R.TOO_DEEP)], None
    except Exception as exc:  # fail closed: a file the policy cannot read is not imported
        findings, checker = [Finding(1, 1, "unreadable", R.UNCHECKABLE.format(error=type(exc).__name__))], None
    violations = [PolicyViolation(filename, f.line, f.col, f.rule, R.REFUSED.format(
        where=where(f.line), what=f.what, why=f.why)) for f in findings]
    return violations, (checker.imports if checker else [])


def _decode(source: str | bytes) -> str:
    """The text Python will compile, or _Refused. Only UTF-8 is read: a coding cookie makes
    the interpreter decode differently from any reader (``# coding: utf-7`` hides lines)."""
    raw = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_FILE_BYTES:
        raise _Refused(R.TOO_LARGE.format(limit=MAX_FILE_BYTES >> 20))
    for number, line in enumerate(raw.split(b"\n", 2)[:2], 1):  # (line 2 even where Python ignores it)
        cookie = _COOKIE.match(line)
        if cookie and cookie.group(1).decode("ascii", "replace").lower() not in _UTF8:
            raise _Refused(R.ENCODING.format(encoding=_clean(cookie.group(1).decode("ascii", "replace"))),
                           R.SAVE_AS_UTF8, number)
    if b"\0" in raw:
        raise _Refused(R.NULL_BYTE, "", raw[:raw.index(b"\0")].count(b"\n") + 1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Refused(R.NOT_UTF8, R.SAVE_AS_UTF8, raw[:exc.start].count(b"\n") + 1) from None


def _where(display: str, cells: Cells | None):
    """How a message names a line: the file's line, or the notebook's cell and its line."""
    def where(line: int) -> str:
        for span in (cells[1] if cells else ()):
            if span.get("start") and span["start"] <= line <= span["end"]:
                return R.WHERE_CELL.format(notebook=_clean(cells[0]), cell=_clean(span["label"]),
                                           line=line - span["start"] + 1)
        return R.WHERE.format(file=display, line=line)
    return where


def _violation(file: str, display: str, line: int, col: int, rule: str, what: str, why: str) -> PolicyViolation:
    return PolicyViolation(file, line, col, rule, R.REFUSED.format(
        where=R.WHERE.format(file=display, line=line), what=what, why=why))


# -- the submission ------------------------------------------------------------------------------
def _python_files(root: Path) -> list[str]:
    found = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(".py"):
                found.append((Path(folder) / name).relative_to(root).as_posix())
    return found


def _module_name(rel: str) -> str | None:
    """``pkg/helpers.py`` -> ``pkg.helpers`` (``pkg/__init__.py`` -> ``pkg``), None when the
    path is no importable module name."""
    parts = rel.removesuffix(".py").split("/")
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts) if all(p.isidentifier() for p in parts) else None


def _read_text(path: Path) -> str | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError:
        return None


def _refuse_importers(verdicts: dict, imports: dict, modules: dict[str, str]) -> None:
    """A file that imports a refused module of the learner's is refused too (repeatedly, so a
    chain of imports carries the refusal to the exercise)."""
    changed = True
    while changed:
        changed = False
        for rel, edges in imports.items():
            for module, line, col in edges:
                target = modules.get(module)
                reasons = verdicts.get(target, []) if target and target != rel else []
                key = R.REFUSED_MODULE.format(module=module)
                if reasons and not any(v.rule == "refused-module" and key in v.message for v in verdicts[rel]):
                    why = R.REFUSED_MODULE_WHY.format(file=_clean(target), line=reasons[0].line)
                    verdicts[rel].append(_violation(rel, _clean(rel), line, col, "refused-module", key, why))
                    changed = True


def _clean(text: str) -> str:
    """A name from the submission, safe to print: control characters escaped, length capped."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    return text if len(text) <= 120 else text[:117] + "..."
