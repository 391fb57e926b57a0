"""What the hidden suites assert with: each helper raises ``CheckFailed`` with learner-facing text.

A suite reads like a plain pytest file::

    @pytest.mark.check(points=2)
    def test_matmul_lesson_example(ex):
        got = ex.matmul(M, N)
        expect_array(got, M @ N, call="matmul(m, n)", inputs={"m": M, "n": N})

Learner-side failures (an exception, a timeout, a dead worker, ``NotImplementedError``)
propagate as ``LearnerError`` and the plugin turns them into statuses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from grader import truncation
from grader.checks import causes, constraints, diagnose
from grader.errors import LearnerRaised, NotStarted


class CheckFailed(Exception):
    """The check's verdict: failed, with feedback for the learner."""

    def __init__(self, feedback: str):
        super().__init__(feedback)
        self.feedback = feedback


def _context(call: str, inputs: dict[str, Any] | None) -> str:
    line = call
    if inputs:
        line += f" with {diagnose.describe_inputs(inputs)}"
    return line


def fail(call: str, problem: str, *, inputs: dict[str, Any] | None = None,
         hint: str | None = None) -> None:
    text = f"{_context(call, inputs)}\n  {problem}"
    if hint:
        text += f"\n  hint: {hint}"
    raise CheckFailed(text)


def expect(condition: bool, call: str, problem: str, *, inputs: dict[str, Any] | None = None,
           hint: str | None = None) -> None:
    if not condition:
        fail(call, problem, inputs=inputs, hint=hint)


def expect_array(got: Any, expected: Any, *, call: str, inputs: dict[str, Any] | None = None,
                 rtol: float = 1e-7, atol: float = 1e-9, check_dtype: bool = True,
                 hint: str | None = None, dtype_hint: str | None = None,
                 shape_hint: str | None = None) -> None:
    """``got`` must match ``expected``. ``hint`` is shown when the values (or, without a
    ``shape_hint``, the shape) are wrong; a wrong dtype, device, type or ``None`` gets the hint
    that fits it (``causes.py``), ``dtype_hint`` when the suite gives one."""
    problem = diagnose.compare_arrays(got, expected, rtol=rtol, atol=atol, check_dtype=check_dtype)
    if problem is not None:
        if problem.startswith(diagnose.WRONG_DTYPE) and diagnose.compare_values(
                diagnose._as_array(got), diagnose._as_array(expected), rtol=rtol, atol=atol) is None:
            problem += f"; {causes.DTYPE_VALUES_RIGHT}"
        fail(call, problem, inputs=inputs, hint=causes.hint_for_result(
            problem, got, expected, hint=hint, dtype_hint=dtype_hint, shape_hint=shape_hint))


def expect_number(got: Any, expected: float, *, call: str, inputs: dict[str, Any] | None = None,
                  rtol: float = 1e-7, atol: float = 1e-9, hint: str | None = None) -> None:
    problem = diagnose.compare_number(got, float(expected), rtol=rtol, atol=atol)
    if problem is not None:
        fail(call, problem, inputs=inputs, hint=causes.hint_for_result(problem, got, expected, hint=hint))


def expect_equal(got: Any, expected: Any, *, call: str, inputs: dict[str, Any] | None = None,
                 hint: str | None = None) -> None:
    """Exact equality of plain data (tuples of ints, strings); the types must match too."""
    if type(got) is not type(expected) or got != expected:
        fail(call, f"expected {diagnose.show(expected)}, got {diagnose.show(got)}"
             if type(got) is type(expected) else
             f"expected {diagnose.describe(expected)}, got {diagnose.describe(got)}",
             inputs=inputs, hint=causes.RETURNED_NONE if got is None else hint)


def result_of(fn: Callable[..., Any], *args: Any, call: str, inputs: dict[str, Any] | None = None,
              hint: str | None = None, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; when the learner's code raises, the check fails naming ``call``
    and its inputs (the plugin alone could only say which function raised), with the hint
    the exception points at, else ``hint``. Running out of memory is left to the plugin,
    which knows the limit."""
    try:
        return fn(*args, **kwargs)
    except NotStarted:
        raise
    except LearnerRaised as exc:
        if causes.is_out_of_memory(exc.type_name, exc.message):
            raise
        where = f"\n  at {exc.where}" if exc.where else ""
        fail(call, f"raised {exc.type_name}: {exc.message}{where}", inputs=inputs,
             hint=_raised_hint(exc, hint))


# Exceptions that say the code is broken, whatever the check was about.
_BROKEN = ("NameError", "UnboundLocalError", "RecursionError")


def _raised_hint(exc: LearnerRaised, hint: str | None) -> str | None:
    """The hint for an exception: its cause's when the code is broken (a name never defined,
    a None used as a value), else the check's own hint for this call, else the cause's."""
    cause = causes.hint_for_raised(exc.type_name, exc.message)
    broken = exc.type_name in _BROKEN or "NoneType" in exc.message
    return (cause if broken else hint) or cause


def expect_raises(exc_type: type[BaseException], fn: Callable[..., Any], *args: Any, call: str,
                  inputs: dict[str, Any] | None = None, mentions: Iterable[str] = (),
                  hint: str | None = None, **kwargs: Any) -> LearnerRaised:
    """``fn(*args)`` must raise ``exc_type`` (or a subclass) whose message contains ``mentions``."""
    try:
        got = fn(*args, **kwargs)
    except NotStarted:
        raise
    except LearnerRaised as exc:
        if not exc.is_a(exc_type):
            if causes.is_out_of_memory(exc.type_name, exc.message):
                raise
            fail(call, f"expected {exc_type.__name__}, but it raised {exc.type_name}: {exc.message}",
                 inputs=inputs, hint=_raised_hint(exc, hint))
        missing = [m for m in mentions if m not in exc.message]
        if missing:
            fail(call, f"raised {exc_type.__name__} as it should, but the message "
                       f"{exc.message!r} does not mention {', '.join(map(repr, missing))}",
                 inputs=inputs, hint=MENTION_HINT.format(missing=" and ".join(missing)))
        return exc
    fail(call, f"expected {exc_type.__name__}, but it returned {diagnose.describe(got)}",
         inputs=inputs, hint=hint)
    raise AssertionError("unreachable")


MENTION_HINT = ("put the values involved into the message, as the docstring's example does "
                "(here {missing}); an f-string such as f\"... got shape {{a.shape}}\" puts a value in")


TIMED_INPUT = "{function}(...) on {inputs}, an input of the kind the speed target times"


def expect_right_when_timed(ex: Any, case: Any, rng: Any, device: str = "cpu") -> None:
    """Before a speed target (``engine.timing.SpeedCase``) is timed: one call on an input like
    the timed ones must give the right result, so that a function that is wrong there fails on
    its values, with the values' hint, and not on the timing's "a timed call returned a wrong
    result" (which is about results that change from call to call)."""
    args = case.args(rng, device)
    call = TIMED_INPUT.format(function=case.function, inputs=case.inputs or "the timed input")
    got = result_of(getattr(ex, case.function), *args, call=call, hint=case.hint)
    expect_array(got, case.expected(args), call=call, rtol=case.rtol, atol=case.atol,
                 check_dtype=case.check_dtype, hint=case.hint)


# What the worker's tracer reports when code reaches the matmul family at run time
# (NumPy function and ufunc names, torch function names).
MATMUL_RUNTIME = frozenset({
    "matmul", "dot", "vdot", "inner", "outer", "tensordot", "einsum", "multi_dot", "vecdot",
    "mm", "bmm", "mv", "addmm", "addmv", "baddbmm", "linear", "__matmul__", "__rmatmul__",
    "correlate", "convolve", "cov", "corrcoef", "kron", "conv1d", "conv2d", "conv3d", "bilinear",
    "matrix_power", "trapz", "trapezoid",
})


def expect_without(source: "LearnerSource", function: str, forbidden: constraints.Forbidden
                   | Sequence[constraints.Forbidden], *, trace: dict | None = None,
                   runtime_names: Iterable[str] = (), hint: str | None = None) -> None:
    """The static scan of ``function`` (and the helpers it reaches) finds none of ``forbidden``,
    and the run-time trace of a call, when given, reached none of ``runtime_names``."""
    try:
        found = constraints.scan(source.text, function, forbidden, filename=source.filename,
                                 modules=source.module)
    except constraints.ScanError as exc:
        raise CheckFailed(f"{source.filename} could not be read: {exc}") from None
    if found:
        shown = truncation.VIOLATIONS_SHOWN
        lines = "\n  ".join(constraints.describe(v) for v in found[:shown])
        more = f"\n  (and {len(found) - shown} more)" if len(found) > shown else ""
        raise CheckFailed(f"{function}: a construct this exercise rules out\n  {lines}{more}"
                          + (f"\n  hint: {hint}" if hint else ""))
    if trace:
        names = set(runtime_names)
        reached = sorted(n for part in ("numpy", "torch") for n in trace.get(part, {}) if n in names)
        if reached:
            raise CheckFailed(f"{function}: at run time your code called {', '.join(reached)}, "
                              f"which this exercise rules out (the static scan missed how)"
                              + (f"\n  hint: {hint}" if hint else ""))


MAX_MODULE_BYTES = 2 << 20  # as submission.MAX_FILE_BYTES: larger files are never copied


class LearnerSource:
    """The text of a learner's module, read from disk (never imported by the grader)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filename = path.name
        self.text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def module(self, name: str) -> tuple[str, str] | None:
        """The text and file name of the learner's own module ``name`` (``helpers`` or
        ``pkg.helpers``) beside this one, for the scan to follow; None when there is none."""
        parts = name.split(".")
        if not all(p.isidentifier() for p in parts):
            return None
        path = self.path.parent.joinpath(*parts[:-1], parts[-1] + ".py")
        if path == self.path or not path.is_file() or path.is_symlink() \
                or path.stat().st_size > MAX_MODULE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace"), path.relative_to(self.path.parent).as_posix()
