"""The call a check was making when the learner's code raised, read back from the traceback.

A suite writes ``expect_number(ex.dot(a, b), want, call="dot(a, b)", inputs={"a": a, "b": b})``;
when ``dot`` raises, ``expect_number`` never runs, so its ``call`` and ``inputs`` would be
lost and the report could only say ``dot(...)``. The exception's traceback still holds the
suite's frame and the proxy's: this module finds the statement the suite was running, and

- when it passes ``call=`` (and ``inputs=``) to a helper around the learner's call, evaluates
  those two arguments in the suite's frame, so the report names the call exactly as it does
  for a wrong value;
- else renders the call from its source and the values the proxy sent
  (``softmax(x, 1) with x: [...]``).

Only the suite's own expressions are evaluated, never one that reaches the learner's module or
an object living in the worker. Anything unexpected gives None: the plugin then says ``fn(...)``.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from grader.checks import diagnose
from grader.isolation.proxies import FunctionProxy, ModuleProxy, RemoteObject
from grader.paths import SUITES_DIR

_PROXY_CALLS = {FunctionProxy.__call__.__code__: "function", FunctionProxy.call.__code__: "function",
                RemoteObject.__call__.__code__: "object", RemoteObject.call.__code__: "object",
                RemoteObject.method.__code__: "method", RemoteObject.method_list.__code__: "method"}
_CALL_OPTIONS = ("timeout", "probe")       # FunctionProxy.call's own keywords, not the learner's


@dataclass
class FailedCall:
    text: str
    inputs: dict[str, Any] = field(default_factory=dict)


def failed_call(exc: BaseException, function: str | None) -> FailedCall | None:
    """The learner call ``exc`` came from, as the suite names it; None when it cannot tell."""
    try:
        return _failed_call(exc, function)
    except Exception:   # a report without the inputs beats a grader that crashes
        return None


def _failed_call(exc: BaseException, function: str | None) -> FailedCall | None:
    frames = _frames(exc.__traceback__)
    proxy_at = max((i for i, (f, _) in enumerate(frames) if f.f_code in _PROXY_CALLS), default=None)
    if proxy_at is None:
        return None
    proxy = frames[proxy_at][0].f_locals
    kind = _PROXY_CALLS[frames[proxy_at][0].f_code]
    args, kwargs = tuple(proxy.get("args", ())), dict(proxy.get("kwargs", {}))
    name = _proxy_name(proxy, kind, function)
    suite = next(((f, line) for f, line in reversed(frames[:proxy_at]) if _in_suites(f)), None)
    if suite is not None:
        found = _from_statement(*suite, name, args, kwargs)
        if found is not None:
            return found
    return FailedCall(_render(name, [None] * len(args), args, kwargs, {})[0])


def _frames(tb: TracebackType | None) -> list[tuple[FrameType, int]]:
    out = []
    while tb is not None:
        out.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return out


def _proxy_name(local: dict, kind: str, function: str | None) -> str:
    self = local.get("self")
    if kind == "function" and isinstance(self, FunctionProxy):
        return self.name
    if kind == "method" and isinstance(local.get("name"), str):
        return f"model.{local['name']}"
    if isinstance(self, RemoteObject):
        return "model"
    return function or "the function"


def _in_suites(frame: FrameType) -> bool:
    try:
        return Path(frame.f_code.co_filename).resolve().parent == SUITES_DIR.resolve()
    except OSError:
        return False


@functools.lru_cache(maxsize=32)
def _statements(filename: str) -> tuple[ast.stmt, ...]:
    tree = ast.parse(Path(filename).read_text(encoding="utf-8"))
    return tuple(n for n in ast.walk(tree) if isinstance(n, ast.stmt))


def _statement(filename: str, line: int) -> ast.stmt | None:
    """The innermost statement that spans ``line``."""
    spanning = [s for s in _statements(filename) if s.lineno <= line <= (s.end_lineno or s.lineno)
                and not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return min(spanning, key=lambda s: (s.end_lineno or s.lineno) - s.lineno, default=None)


def _from_statement(frame: FrameType, line: int, name: str, args: tuple, kwargs: dict) -> FailedCall | None:
    stmt = _statement(frame.f_code.co_filename, line)
    if stmt is None:
        return None
    short = name.rsplit(".", 1)[-1]
    calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call)]
    # A helper given call= around the learner's call: expect_array(ex.f(...), ..., call=...),
    # result_of(ex.f, ..., call=...), expect_raises(E, ex.f, ..., call=...).
    described = [c for c in calls if any(k.arg == "call" for k in c.keywords)]
    around = [c for c in described if _mentions(c, short)] or (described if len(described) == 1 else [])
    if around:
        keywords = {k.arg: k.value for k in around[0].keywords}
        text = _evaluate(keywords["call"], frame)
        inputs = _evaluate(keywords["inputs"], frame) if "inputs" in keywords else {}
        if isinstance(text, str):
            return FailedCall(text, inputs if isinstance(inputs, dict) else {})
    direct = next((c for c in calls if _calls(c, short)), None)
    if direct is None:
        return None
    sources = [a for a in direct.args if not isinstance(a, ast.Starred)]
    if len(sources) != len(direct.args):
        sources = [None] * len(args)
    named = {k.arg: k.value for k in direct.keywords if k.arg and k.arg not in _CALL_OPTIONS}
    text, inputs = _render(name, sources, args, kwargs, named)
    return FailedCall(text, inputs)


def _mentions(node: ast.AST, function: str) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == function for n in ast.walk(node))


def _calls(node: ast.Call, function: str) -> bool:
    """``ex.f(...)`` or ``ex.f.call(...)``."""
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "call":
        func = func.value
    return isinstance(func, ast.Attribute) and func.attr == function


def _evaluate(node: ast.expr, frame: FrameType) -> Any:
    """The suite's own expression, evaluated in its frame; never one that touches the
    learner's module or an object in the worker (that would call the learner again)."""
    for n in ast.walk(node):
        if isinstance(n, (ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)):
            return None
        if isinstance(n, ast.Name):
            value = frame.f_locals.get(n.id, frame.f_globals.get(n.id))
            if isinstance(value, (ModuleProxy, FunctionProxy, RemoteObject)):
                return None
    code = compile(ast.Expression(node), frame.f_code.co_filename, "eval")
    return eval(code, frame.f_globals, dict(frame.f_locals))


def _render(name: str, sources: list, args: tuple, kwargs: dict, named: dict) -> tuple[str, dict]:
    """``name(x, 1, k=3)`` and the inputs to show beside it, from the call's source (names
    the suite gave its variables) and the values the proxy sent."""
    parts, inputs = [], {}
    for source, value in zip(sources, args):
        parts.append(_argument(source, value, inputs))
    for key, value in kwargs.items():
        parts.append(f"{key}={_argument(named.get(key), value, inputs)}")
    return f"{name}({', '.join(parts)})", inputs


def _argument(source: ast.expr | None, value: Any, inputs: dict) -> str:
    if isinstance(source, ast.Constant):
        return ast.unparse(source)
    if _plain(value):
        return repr(value)
    if isinstance(source, (ast.Name, ast.Attribute)):
        # The suite's name for it: m for M, train_x for digits.train_x.
        label = (source.id if isinstance(source, ast.Name) else source.attr).lower()
        inputs[label] = value
        return label
    return diagnose.show(value)


def _plain(value: Any) -> bool:
    """Numbers, strings and short tuples read best in the call itself."""
    return value is None or isinstance(value, (bool, int, float, str)) or (
        isinstance(value, tuple) and len(value) <= 8 and all(isinstance(v, int) for v in value))
