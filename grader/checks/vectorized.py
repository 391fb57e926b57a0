"""The deterministic half of a speed target: no Python loop over rows or samples.

``expect_vectorized`` calls the learner's function twice, on a small input and on one with
more rows (the other sizes unchanged), with two worker probes: ``lines`` counts how often
each line of the learner's files ran, ``trace`` counts the NumPy/torch operations reached.
Vectorized code runs the same lines, and the same operations, whatever the number of rows;
a loop over rows runs its body once per row. So any line that runs more often on the larger
input is inside such a loop (or a recursion), and the feedback names it with the loop's
header from the learner's source. Loops over something that does not grow with the rows
(the 3 colour channels, the k neighbours) are fine and never counted against anyone.

The operation count backs the line count for loops that no learner line shows, e.g.
``list(map(torch.dot, ...))``. Unlike a timing, none of this depends on the machine's load.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from grader import truncation
from grader.checks.expect import CheckFailed

LOOP_FOUND = ("{function}: a Python loop runs once per {unit} (no noise here: the grader "
              "counted how often each line ran, on inputs of {small} and of {large})")
LOOP_LINE = "{file} line {line}: `{code}` ran {a} times for {small} and {b} times for {large}"
RECURSION_LINE = ("{file} line {line}: `{code}` ran {a} times for {small} and {b} times for "
                  "{large} (a recursion over the rows?)")
OPS_GREW = ("{function}: the number of NumPy/torch operations it runs grew from {a} to {b} as the "
            "input grew from {small} to {large}: a loop hidden inside a library call "
            "(map, np.vectorize, torch.vmap, apply_along_axis?)")
DEFAULT_HINT = ("work on whole tensors or arrays at once: broadcasting (x[:, None, :] - y[None]) "
                "and reductions along an axis replace the loop")
_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp,
          ast.GeneratorExp)


@dataclass(frozen=True)
class Grown:
    file: str
    line: int
    small: int
    large: int


def expect_vectorized(fn: Any, small: Sequence[Any], large: Sequence[Any], *, function: str,
                      root: Path, sizes: tuple[str, str], extra_rows: int,
                      hint: str = DEFAULT_HINT, unit: str = "row or sample") -> None:
    """``fn`` (a learner ``FunctionProxy``) runs no line more often on ``large`` than on
    ``small``, and its operation count does not grow by ``extra_rows / 2`` or more.

    ``sizes`` names the two inputs for the feedback (e.g. ``("N=6", "N=24")``); ``root`` is
    the submission folder, whose files are read (never imported) to name the loop; ``unit``
    what grows between the two (``"channel"`` when the channels do, not the rows).
    """
    # The line count runs on the plain inputs: the trace hands the function its inputs wrapped
    # (an ndarray subclass, a tensor under a mode) which code could tell apart, and take its
    # loop only when it is not watched that way.
    a = fn.call(*small, probe=["lines"]).extra
    b = fn.call(*large, probe=["lines"]).extra
    grown = grown_lines(a.get("lines", {}), b.get("lines", {}))
    if grown:
        text = LOOP_FOUND.format(function=function, small=sizes[0], large=sizes[1], unit=unit)
        for item in describe(grown, Path(root), sizes)[:truncation.LOOPS_SHOWN]:
            text += "\n  " + item
        raise CheckFailed(text + f"\n  hint: {hint}")
    a = fn.call(*small, probe=["trace"]).extra
    b = fn.call(*large, probe=["trace"]).extra
    ops_a, ops_b = _operations(a.get("trace")), _operations(b.get("trace"))
    if ops_b - ops_a >= max(1, extra_rows / 2):
        raise CheckFailed(OPS_GREW.format(function=function, a=ops_a, b=ops_b, small=sizes[0],
                                          large=sizes[1]) + f"\n  hint: {hint}")


def grown_lines(small: dict[str, int], large: dict[str, int]) -> list[Grown]:
    out = []
    for key, count in large.items():
        file, _, line = key.rpartition(":")
        if count > small.get(key, 0) and line.isdigit():
            out.append(Grown(file, int(line), small.get(key, 0), count))
    return sorted(out, key=lambda g: (g.file, g.line))


def describe(grown: list[Grown], root: Path, sizes: tuple[str, str]) -> list[str]:
    """One line per loop (its header, named by line and code) whose count grew; lines that
    grew outside any loop are named themselves."""
    by_key = {(g.file, g.line): g for g in grown}
    seen: set[tuple[str, int]] = set()
    out = []
    for g in grown:
        lines, loops = _source(root / g.file)
        loop = _loop_for(g.line, loops, lambda n: (g.file, n) in by_key)
        at = loop.lineno if loop is not None else g.line
        if (g.file, at) in seen:
            continue
        seen.add((g.file, at))
        head = by_key.get((g.file, at), g)
        code = lines[at - 1].strip() if 0 < at <= len(lines) else "?"
        cut = truncation.LOOP_CODE_CHARS
        code = code if len(code) <= cut else code[:cut - 3] + "..."
        template = LOOP_LINE if loop is not None else RECURSION_LINE
        out.append(template.format(file=g.file, line=at, code=code, a=head.small, b=head.large,
                                   small=sizes[0], large=sizes[1]))
    return out


def _loop_for(line: int, loops: list[ast.AST], grew) -> ast.AST | None:
    """The outermost loop around ``line`` whose header ran more often; else the innermost one."""
    around = [n for n in loops if n.lineno <= line <= (n.end_lineno or n.lineno)]
    around.sort(key=lambda n: (n.lineno, -(n.end_lineno or n.lineno)))
    for node in around:
        if grew(node.lineno):
            return node
    return around[-1] if around else None


def _source(path: Path) -> tuple[list[str], list[ast.AST]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        tree = ast.parse(text)
    except (OSError, SyntaxError, ValueError, RecursionError):
        return [], []
    return text.splitlines(), [n for n in ast.walk(tree) if isinstance(n, _LOOPS)]


def _operations(trace: dict | None) -> int:
    if not trace:
        return 0
    return sum(sum(part.values()) for part in trace.values() if isinstance(part, dict))
