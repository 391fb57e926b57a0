"""The assignment: what a course changes without editing grader code, in one file.

``course.toml`` at the kit's root (or the file ``Settings.course`` names: ``--course FILE``,
``GRADER_COURSE``) says which exercises the assignment holds, overrides a check's points or
visibility, sets the named thresholds and the speed targets the suites declare, and how
Gradescope shows the checks. Every section is optional; the defaults live in the suites,
beside the measurements that justify them (``THRESHOLDS`` and ``SPEED`` in a suite)::

    [assignment]
    name = "Homework 2"
    exercises = ["ex01_vectors", "ex03_matmul"]      # default: every exercise of the kit

    [checks]                                          # "exercise/check" (the test's name
    "ex03_matmul/matmul_keeps_the_dtype" = { points = 2, visibility = "hidden" }   # without test_)

    [thresholds.ex04_simple_mnist]                    # names a suite declares in THRESHOLDS
    fit_accuracy = 0.88

    [speed]                                           # "exercise.function": at most this many
    "ex03_matmul.matmul" = 60                         # times the baseline's time (suite SPEED)

    [gradescope]
    visibility = "visible"                            # public checks
    hidden_visibility = "after_due_date"              # hidden checks
    leaderboard = true                                # the speed checks' ratios

    [late]                                            # for the batch's late policy
    due = 2025-03-14T23:59:00+01:00
    late_penalty_per_day = 0.1
    late_cap = 0.5

``grader release`` writes the student kit's own copy, without the overrides of hidden checks
and with a ``[hidden]`` table instead: per exercise, how many hidden checks and points the
student kit does not hold (``{ checks = 4, points = 5 }``), so that its reports state the
assignment's full maximum. Structural mistakes (an unknown section or key, a wrong type, an
unknown exercise) raise ``CourseError`` naming the file and the key; keys that name checks,
thresholds or speed targets are checked against the suites when they are collected
(``engine/plugin.py``). This module imports only ``results`` (``paths`` and ``registry``
when it reads the kit's own file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from grader.results import Hidden, Visibility

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as a package
    import tomli as tomllib

FILENAME = "course.toml"
GRADESCOPE_VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
SECTIONS = ("assignment", "checks", "thresholds", "speed", "gradescope", "late", "hidden")
CHECK_KEY = re.compile(r"(ex\d\d_\w+)/(\w+)")
SPEED_KEY = re.compile(r"(ex\d\d_\w+)\.(\w+)")


class CourseError(ValueError):
    """The assignment file is malformed: the message names the file and the key."""


@dataclass(frozen=True)
class CheckOverride:
    points: float | None = None
    visibility: Visibility | None = None


@dataclass(frozen=True)
class Gradescope:
    visibility: str = "visible"              # of the public checks' tests
    hidden_visibility: str = "after_due_date"  # of the hidden checks' tests
    leaderboard: bool = True                 # one entry per speed check: its ratio


@dataclass(frozen=True)
class Late:
    """The late policy's data; the batch applies it (``None``: no due date)."""

    due: dt.datetime | None = None
    late_penalty_per_day: float = 0.0        # fraction of the score per day late
    late_cap: float | None = None            # largest total fraction taken off


@dataclass(frozen=True)
class Course:
    name: str = ""
    exercises: tuple[str, ...] = ()          # empty: every exercise of the kit
    checks: Mapping[str, CheckOverride] = field(default_factory=dict)     # "ex/check"
    thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # ex -> name
    speed: Mapping[str, float] = field(default_factory=dict)              # "ex.function"
    gradescope: Gradescope = field(default_factory=Gradescope)
    late: Late = field(default_factory=Late)
    hidden: Mapping[str, Hidden] = field(default_factory=dict)            # student kit only
    source: str = FILENAME                   # where it was read, for messages

    # -- what the engine asks ----------------------------------------------------------------
    def override(self, exercise: str, check: str) -> CheckOverride:
        return self.checks.get(f"{exercise}/{check}", CheckOverride())

    def threshold(self, exercise: str, name: str, default: float) -> float:
        return self.thresholds.get(exercise, {}).get(name, default)

    def speed_target(self, exercise: str, function: str, default: float) -> float:
        return self.speed.get(f"{exercise}.{function}", default)

    def hidden_for(self, exercise: str) -> Hidden:
        return self.hidden.get(exercise, Hidden())

    def digest(self) -> str:
        """Changes whenever anything that affects grading changes (a batch regrades then)."""
        return hashlib.sha256(self.to_toml(header=False).encode()).hexdigest()

    def with_exercises(self, exercises: Iterable[str]) -> "Course":
        return replace(self, exercises=tuple(exercises))

    # -- writing (grader release, the Gradescope zip) ------------------------------------------
    def to_toml(self, *, header: bool = True, instructor: bool = True) -> str:
        """The course as TOML; ``instructor=False`` leaves out what only the course's side
        uses (Gradescope, the late policy): a student kit's copy."""
        out = ["# The assignment (grader/course.py says what each key does)."] if header else []
        out += ["[assignment]", f"name = {_str(self.name)}",
                f"exercises = [{', '.join(_str(e) for e in self.exercises)}]", "", "[checks]"]
        for key, o in sorted(self.checks.items()):
            parts = ([f"points = {o.points:g}"] if o.points is not None else []) + \
                    ([f"visibility = {_str(o.visibility.value)}"] if o.visibility else [])
            out.append(f"{_str(key)} = {{ {', '.join(parts)} }}")
        for ex, table in sorted(self.thresholds.items()):
            if table:
                out += ["", f"[thresholds.{ex}]"] + [f"{k} = {v!r}" for k, v in sorted(table.items())]
        out += ["", "[speed]"] + [f"{_str(k)} = {v:g}" for k, v in sorted(self.speed.items())]
        g = self.gradescope
        if instructor:
            out += ["", "[gradescope]", f"visibility = {_str(g.visibility)}",
                    f"hidden_visibility = {_str(g.hidden_visibility)}",
                    f"leaderboard = {str(g.leaderboard).lower()}", "", "[late]"]
            if self.late.due is not None:
                out.append(f"due = {self.late.due.isoformat()}")
            out.append(f"late_penalty_per_day = {self.late.late_penalty_per_day!r}")
            if self.late.late_cap is not None:
                out.append(f"late_cap = {self.late.late_cap!r}")
        if self.hidden:
            out += ["", "# Hidden checks this kit does not hold: they run when your course grades.",
                    "[hidden]"]
            out += [f"{ex} = {{ checks = {h.checks}, points = {h.points:g} }}"
                    for ex, h in sorted(self.hidden.items())]
        return "\n".join(out) + "\n"


def _str(text: str) -> str:
    return json.dumps(text)      # a TOML basic string is a JSON string for these characters


# -- reading -------------------------------------------------------------------------------------
def for_settings(settings: Any) -> Course:
    """The course ``settings.course`` names (default: the kit's ``course.toml``), its exercise
    ids checked against the kit's."""
    from grader import registry

    named = getattr(settings, "course", None)
    if named and not Path(named).is_file():
        raise CourseError(f"{named}: no such assignment file (--course / GRADER_COURSE)")
    return load(named, known=registry.BY_ID)


def load(path: Path | str | None = None, *, known: Iterable[str] | None = None) -> Course:
    """The course in ``path`` (default: ``course.toml`` at the kit's root); a missing file is
    the default course. ``known`` (exercise ids) checks the exercises it names."""
    if path is None:
        from grader.paths import COURSE_FILE

        path = COURSE_FILE
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return Course(source=str(path))
    except tomllib.TOMLDecodeError as exc:
        raise CourseError(f"{path} is not valid TOML: {exc}") from None
    return parse(data, source=str(path), known=known)


def parse(data: Mapping[str, Any], *, source: str = FILENAME,
          known: Iterable[str] | None = None) -> Course:
    known = set(known) if known is not None else None
    where = _Where(source)
    where.keys("", data, SECTIONS)
    a = where.table("assignment", data.get("assignment", {}))
    where.keys("[assignment]", a, ("name", "exercises"))
    name = where.typed("[assignment] name", a.get("name", ""), str, "a string")
    exercises = where.typed("[assignment] exercises", a.get("exercises", []), list,
                            "a list of exercise ids, e.g. [\"ex01_vectors\"]")
    for ex in exercises:
        where.exercise("[assignment] exercises", ex, known)

    checks = {}
    for key, value in where.table("checks", data.get("checks", {})).items():
        m = CHECK_KEY.fullmatch(key)
        if not m:
            where.fail(f"[checks] {key!r}", "a key is \"exercise/check\", e.g. "
                       "\"ex03_matmul/matmul_keeps_the_dtype\" (the test's name without test_)")
        where.exercise(f"[checks] {key!r}", m.group(1), known)
        value = where.table(f"checks.{key!r}", value)
        where.keys(f"[checks] {key!r}", value, ("points", "visibility"))
        points = value.get("points")
        if points is not None:
            where.number(f"[checks] {key!r} points", points)
        vis = value.get("visibility")
        if vis is not None and vis not in {v.value for v in Visibility}:
            where.fail(f"[checks] {key!r} visibility = {vis!r}", "\"public\" or \"hidden\"")
        checks[key] = CheckOverride(float(points) if points is not None else None,
                                    Visibility(vis) if vis is not None else None)

    thresholds = {}
    for ex, table in where.table("thresholds", data.get("thresholds", {})).items():
        where.exercise(f"[thresholds.{ex}]", ex, known)
        table = where.table(f"thresholds.{ex}", table)
        thresholds[ex] = {k: float(where.number(f"[thresholds.{ex}] {k}", v)) for k, v in table.items()}

    speed = {}
    for key, value in where.table("speed", data.get("speed", {})).items():
        m = SPEED_KEY.fullmatch(key)
        if not m:
            where.fail(f"[speed] {key!r}", "a key is \"exercise.function\", e.g. \"ex03_matmul.matmul\"")
        where.exercise(f"[speed] {key!r}", m.group(1), known)
        if where.number(f"[speed] {key!r}", value) <= 0:
            where.fail(f"[speed] {key!r} = {value!r}", "a positive ratio")
        speed[key] = float(value)

    g = where.table("gradescope", data.get("gradescope", {}))
    where.keys("[gradescope]", g, ("visibility", "hidden_visibility", "leaderboard"))
    for key in ("visibility", "hidden_visibility"):
        if key in g and g[key] not in GRADESCOPE_VISIBILITIES:
            where.fail(f"[gradescope] {key} = {g[key]!r}", "one of " + ", ".join(GRADESCOPE_VISIBILITIES))
    gradescope = Gradescope(g.get("visibility", "visible"), g.get("hidden_visibility", "after_due_date"),
                            where.typed("[gradescope] leaderboard", g.get("leaderboard", True), bool,
                                        "true or false"))

    lt = where.table("late", data.get("late", {}))
    where.keys("[late]", lt, ("due", "late_penalty_per_day", "late_cap"))
    due = lt.get("due")
    if due is not None and not isinstance(due, dt.datetime):
        where.fail(f"[late] due = {due!r}", "a TOML date-time, e.g. 2025-03-14T23:59:00+01:00")
    late = Late(due, float(where.number("[late] late_penalty_per_day", lt.get("late_penalty_per_day", 0.0))),
                float(where.number("[late] late_cap", lt["late_cap"])) if "late_cap" in lt else None)

    hidden = {}
    for ex, value in where.table("hidden", data.get("hidden", {})).items():
        where.exercise(f"[hidden] {ex}", ex, known)
        value = where.table(f"hidden.{ex}", value)
        where.keys(f"[hidden] {ex}", value, ("checks", "points"))
        hidden[ex] = Hidden(int(where.typed(f"[hidden] {ex} checks", value.get("checks", 0), int, "a count")),
                            float(where.number(f"[hidden] {ex} points", value.get("points", 0))))
    return Course(name, tuple(exercises), checks, thresholds, speed, gradescope, late, hidden, source)


class _Where:
    """Raises ``CourseError`` naming the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, what: str) -> None:
        raise CourseError(f"{self.source}: {key}: {what}")

    def keys(self, where: str, table: Mapping[str, Any], known: Iterable[str]) -> None:
        unknown = sorted(set(table) - set(known))
        if unknown:
            self.fail(where or "top level", f"unknown key(s) {', '.join(unknown)}; "
                      f"the keys are {', '.join(known)}")

    def table(self, key: str, value: Any) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            self.fail(f"[{key}]", "a table")
        return value

    def typed(self, key: str, value: Any, kind: type, what: str) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(f"{key} = {value!r}", what)
        return value

    def number(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            self.fail(f"{key} = {value!r}", "a number, 0 or more")
        return value

    def exercise(self, key: str, ex: Any, known: set[str] | None) -> None:
        if not isinstance(ex, str) or (known is not None and ex not in known):
            listed = f"; the exercises are {', '.join(sorted(known))}" if known else ""
            self.fail(key, f"unknown exercise {ex!r}{listed}")
