"""A notebook's module, imported cell by cell in the worker.

The grader turns a notebook into a plain module of its code cells (``engine/notebook_source``)
and a list of *spans*: each kept cell's label, its first and last line in that module, and the
names it defines at the top level. The worker imports such a module here instead of with
``import``: each cell is compiled from the module's own file (so tracebacks, the line counter
and the lock see the learner's file and line) and run in the module's namespace, and a cell
that raises is recorded and skipped, so the cells after it still define their functions. A
name that a failed cell would have defined is bound to a stand-in that says so when called.

The record of failed cells lives here, in the worker's own code: nothing the notebook defines
can change what the grader reports about its cells. Standard library only: this file is copied
into the worker's runtime folder.
"""

from __future__ import annotations

import __future__
import sys
import types

NEVER_DEFINED = "{name} was never defined: {label} raised {error}"
FAILED = "{label}: {error}"
ERROR_CHARS = 300


class NeverDefined(RuntimeError):
    """Calling a function whose notebook cell failed before it was defined."""


def _never_defined(name: str, why: str):
    def stand_in(*args, **kwargs):
        raise NeverDefined(why)

    stand_in.__name__ = stand_in.__qualname__ = name
    return stand_in


def _flags(source_lines: list[str], upto: int) -> int:
    """The ``from __future__`` features at the top of the module (lines before ``upto``)."""
    flags = 0
    for line in source_lines[:upto]:
        line = line.strip()
        if line.startswith("from __future__ import "):
            for feature in line.removeprefix("from __future__ import ").split(","):
                feature = feature.strip().split(" as ")[0]
                flag = getattr(getattr(__future__, feature, None), "compiler_flag", 0)
                flags |= flag
    return flags


def import_cells(name: str, path: str, spans: list[dict], *, compile_fn=compile,
                 exec_fn=exec) -> tuple[types.ModuleType, list[str]]:
    """Import module ``name`` from ``path`` cell by cell; return it and the failed cells."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    lines = source.split("\n")
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    failures: list[str] = []
    first = min((s["start"] for s in spans if s.get("start")), default=len(lines) + 1)
    flags = _flags(lines, first - 1)
    for span in spans:
        label = str(span.get("label", "a cell"))
        error = span.get("error")
        if error is None:
            text = "\n" * (span["start"] - 1) + "\n".join(lines[span["start"] - 1:span["end"]])
            try:
                code = compile_fn(text, path, "exec", flags=flags, dont_inherit=True)
                exec_fn(code, module.__dict__)
            except BaseException as exc:   # noqa: B036 - a cell's SystemExit is the cell's failure
                error = f"{type(exc).__name__}: {exc}"
        if error is None:
            continue
        error = error[:ERROR_CHARS]
        failures.append(FAILED.format(label=label, error=error))
        for defined in span.get("defines", ()):
            if defined not in module.__dict__:
                why = NEVER_DEFINED.format(name=defined, label=label, error=error)
                module.__dict__[defined] = _never_defined(defined, why[:ERROR_CHARS])
    return module, failures
