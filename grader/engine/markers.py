"""The two markers a hidden suite uses, read and checked: a typo is an error, never a default.

``pytest.mark.exercise(id, note=...)`` on the module names the exercise the suite grades; its
``note`` (optional) is added to the report of any run that graded the exercise started and
loadable. ``pytest.mark.check(points=1, kind="correctness", function=None, hints=(),
visibility="public")`` on a test makes it one graded check: ``public`` checks ship with the
student kit and run under ``make grade``; ``hidden`` ones run only where the course grades
(batch, Gradescope), and ``grader release`` strips them from the student kit. Every kind
defaults to public: lesson examples, shapes, dtypes, typical mistakes, constraints and speed
targets are what a learner should see fail; randomized and edge cases may be hidden.
``role`` says what a check judges (``results.Role``): right answers (``values``, the default of
a correctness check), rejecting bad input (``errors``), how the function works (``method``,
the default of a constraint or timing check) or only the form of an answer (``form``: a type,
dtype or shape, an edge case whose answer is zeros); a check of the last three pays only once
the function's ``values`` checks pass. An unknown keyword, a positional argument or a value of the
wrong type raises ``MarkerError`` naming the test, so ``check(point=2)`` cannot quietly score 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from grader.results import CheckKind, Role, Visibility


class MarkerError(ValueError):
    """A suite's marker is malformed: the suite is broken, not the learner's code."""


@dataclass(frozen=True)
class CheckSpec:
    points: float = 1.0
    kind: CheckKind = CheckKind.CORRECTNESS
    function: str | None = None
    hints: tuple[str, ...] = ()
    visibility: Visibility = Visibility.PUBLIC
    role: Role = Role.VALUES


@dataclass(frozen=True)
class ExerciseSpec:
    id: str
    note: str | None = None


KINDS = ", ".join(k.value for k in CheckKind)
VISIBILITIES = ", ".join(v.value for v in Visibility)
ROLES = ", ".join(r.value for r in Role)
CHECK_KEYWORDS = ("points", "kind", "function", "hints", "visibility", "role")
# A constraint or a speed target judges how a function works; a correctness check, by default,
# that it computes right answers (a check that a bad input is rejected says role="errors").
DEFAULT_ROLE = {CheckKind.CORRECTNESS: Role.VALUES, CheckKind.CONSTRAINT: Role.METHOD,
                CheckKind.TIMING: Role.METHOD}


def _unknown(where: str, marker: str, kwargs: Mapping[str, Any], known: Sequence[str]) -> None:
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise MarkerError(f"{where}: {marker}(...) has unknown keyword(s) {', '.join(unknown)}; "
                          f"the keywords are {', '.join(known)}")


def parse_check(where: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> CheckSpec:
    """The check a ``pytest.mark.check(...)`` marker describes; ``where`` names the test."""
    if args:
        raise MarkerError(f"{where}: check(...) takes keywords only (points=..., kind=...), "
                          f"got {len(args)} positional argument(s)")
    _unknown(where, "check", kwargs, CHECK_KEYWORDS)
    points = kwargs.get("points", 1.0)
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
        raise MarkerError(f"{where}: check(points={points!r}): a number, 0 or more")
    kind = kwargs.get("kind", CheckKind.CORRECTNESS.value)
    try:
        kind = CheckKind(kind)
    except ValueError:
        raise MarkerError(f"{where}: check(kind={kind!r}): one of {KINDS}") from None
    function = kwargs.get("function")
    if function is not None and not isinstance(function, str):
        raise MarkerError(f"{where}: check(function={function!r}): the name of a function")
    hints = kwargs.get("hints", ())
    if isinstance(hints, str) or not isinstance(hints, (tuple, list)) \
            or not all(isinstance(h, str) for h in hints):
        raise MarkerError(f"{where}: check(hints=...): a tuple of strings, gentlest first")
    visibility = kwargs.get("visibility", Visibility.PUBLIC.value)
    try:
        visibility = Visibility(visibility)
    except ValueError:
        raise MarkerError(f"{where}: check(visibility={visibility!r}): one of {VISIBILITIES}") from None
    role = kwargs.get("role", DEFAULT_ROLE[kind].value)
    try:
        role = Role(role)
    except ValueError:
        raise MarkerError(f"{where}: check(role={role!r}): one of {ROLES}") from None
    return CheckSpec(float(points), kind, function, tuple(hints), visibility, role)


def parse_exercise(where: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> ExerciseSpec:
    """The exercise a ``pytest.mark.exercise(id, note=...)`` marker names."""
    if len(args) != 1 or not isinstance(args[0], str):
        raise MarkerError(f"{where}: exercise(...) takes the exercise's id, e.g. "
                          f"exercise(\"ex03_matmul\"), got {args!r}")
    _unknown(where, "exercise", kwargs, ("note",))
    note = kwargs.get("note")
    if note is not None and not isinstance(note, str):
        raise MarkerError(f"{where}: exercise(note={note!r}): a line of text for the report")
    return ExerciseSpec(args[0], note)
