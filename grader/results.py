"""Typed results: one check, one exercise, one submission, and their single serialisation.

The terminal report, the JSON document, the gradebook row and the Markdown feedback are all
views of these objects (``report.py``, ``batch.py``); nothing else invents its own format.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

SCHEMA = 1


class CheckStatus(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


class ExerciseStatus(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_STARTED = "not_started"
    ERROR = "error"


class CheckKind(str, enum.Enum):
    CORRECTNESS = "correctness"
    TIMING = "timing"
    CONSTRAINT = "constraint"


class Role(str, enum.Enum):
    """What a check judges, for "no point without correct work": ``values`` (the function
    computes right answers on valid inputs), ``errors`` (it rejects bad input), ``method``
    (how it works: a constraint, vectorization, speed, a view instead of a copy) and ``form``
    (what a function that computes nothing can also get right: the type, dtype or shape of a
    result, or an edge case whose answer is all zeros). A check of the last three roles pays
    only when the same function's ``values`` checks all pass."""

    VALUES = "values"
    ERRORS = "errors"
    METHOD = "method"
    FORM = "form"


class Visibility(str, enum.Enum):
    """Where a check runs: ``public`` ones also in the student kit, ``hidden`` ones only where
    the course grades (batch, Gradescope)."""

    PUBLIC = "public"
    HIDDEN = "hidden"


@dataclass(frozen=True)
class Hidden:
    """Hidden checks a student kit does not hold (``grader release`` counts them): they run
    when the course grades, and count in the assignment's maximum."""

    checks: int = 0
    points: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"checks": self.checks, "points": self.points}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Hidden":
        return cls(int(d.get("checks", 0)), float(d.get("points", 0.0))) if d else cls()

    def __add__(self, other: "Hidden") -> "Hidden":
        return Hidden(self.checks + other.checks, round(self.points + other.points, 6))


@dataclass
class Timing:
    learner_s: float
    reference_s: float
    ratio: float
    target_ratio: float
    rounds: int = 0
    baseline: str | None = None      # what reference_s timed, e.g. "np.matmul"

    def to_dict(self) -> dict[str, Any]:
        return {"learner_s": self.learner_s, "reference_s": self.reference_s,
                "ratio": self.ratio, "target_ratio": self.target_ratio, "rounds": self.rounds,
                "baseline": self.baseline}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Timing":
        return cls(d["learner_s"], d["reference_s"], d["ratio"], d["target_ratio"],
                   d.get("rounds", 0), d.get("baseline"))


@dataclass
class Check:
    id: str
    kind: CheckKind
    status: CheckStatus
    max_points: float
    points: float = 0.0
    feedback: str = ""
    function: str | None = None      # the learner function this check is about
    device: str | None = None
    timing: Timing | None = None
    not_started: bool = False        # the function it called still raises NotImplementedError
    hints: tuple[str, ...] = ()
    visibility: Visibility = Visibility.PUBLIC
    # A check that never scores (a GPU variant): reported, but outside points and status, so
    # that the maximum is the same on every machine.
    informational: bool = False
    role: Role = Role.VALUES
    # Why it did not pay although its own condition held: its function is not correct yet.
    gated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "status": self.status.value,
                "points": self.points, "max_points": self.max_points, "feedback": self.feedback,
                "device": self.device, "timing": self.timing.to_dict() if self.timing else None,
                "function": self.function, "not_started": self.not_started,
                "visibility": self.visibility.value, "informational": self.informational,
                "role": self.role.value, "gated": self.gated}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Check":
        return cls(id=d["id"], kind=CheckKind(d["kind"]), status=CheckStatus(d["status"]),
                   max_points=d["max_points"], points=d["points"], feedback=d.get("feedback", ""),
                   function=d.get("function"), device=d.get("device"),
                   timing=Timing.from_dict(d["timing"]) if d.get("timing") else None,
                   not_started=d.get("not_started", False),
                   visibility=Visibility(d.get("visibility", Visibility.PUBLIC.value)),
                   informational=d.get("informational", False),
                   role=Role(d.get("role", Role.VALUES.value)), gated=d.get("gated", False))


@dataclass
class Exercise:
    id: str
    title: str
    checks: list[Check] = field(default_factory=list)
    error: str | None = None          # why the module could not be loaded, or the worker died
    hidden: Hidden = field(default_factory=Hidden)   # hidden checks this kit does not hold

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        """The assignment's maximum for this exercise: every check's, run or not, here or not."""
        return round(self.max_score_here + self.hidden.points, 6)

    @property
    def max_score_here(self) -> float:
        return round(sum(c.max_points for c in self.checks), 6)

    @property
    def status(self) -> ExerciseStatus:
        graded = [c for c in self.checks
                  if c.status is not CheckStatus.SKIPPED and not c.informational]
        if self.error is not None:
            return ExerciseStatus.ERROR
        if graded and all(c.not_started for c in graded):
            return ExerciseStatus.NOT_STARTED
        if all(c.status is CheckStatus.PASSED for c in graded):
            return ExerciseStatus.PASSED
        return ExerciseStatus.FAILED

    def to_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "title": self.title, "status": self.status.value,
             "score": self.score, "max_score": self.max_score,
             "hidden_remaining": self.hidden.to_dict(),
             "checks": [c.to_dict() for c in self.checks]}
        if self.error is not None:
            d["error"] = self.error
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Exercise":
        return cls(id=d["id"], title=d["title"], error=d.get("error"),
                   checks=[Check.from_dict(c) for c in d["checks"]],
                   hidden=Hidden.from_dict(d.get("hidden_remaining")))


@dataclass
class Submission:
    submission: str
    exercises: list[Exercise] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    error: str | None = None          # the submission itself could not be read
    notes: list[str] = field(default_factory=list)   # e.g. limits, sandbox state, loader warnings

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 6)

    @property
    def max_score(self) -> float:
        return round(sum(e.max_score for e in self.exercises), 6)

    @property
    def hidden(self) -> Hidden:
        return sum((e.hidden for e in self.exercises), Hidden())

    @property
    def all_passed(self) -> bool:
        return self.error is None and all(e.status is ExerciseStatus.PASSED for e in self.exercises)

    def mark_error(self, reason: str) -> "Submission":
        """The submission could not be graded: every check becomes an error with ``reason``."""
        self.error = reason
        for ex in self.exercises:
            ex.error = reason
            for check in ex.checks:
                check.status, check.points, check.feedback = CheckStatus.ERROR, 0.0, reason
                check.not_started, check.timing = False, None
        return self

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"schema": SCHEMA, "submission": self.submission,
                             "score": self.score, "max_score": self.max_score,
                             "hidden_remaining": self.hidden.to_dict(),
                             "exercises": [e.to_dict() for e in self.exercises],
                             "environment": self.environment}
        if self.error is not None:
            d["error"] = self.error
        if self.notes:
            d["notes"] = list(self.notes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Submission":
        return cls(submission=d["submission"], environment=d.get("environment", {}),
                   exercises=[Exercise.from_dict(e) for e in d["exercises"]],
                   error=d.get("error"), notes=list(d.get("notes", [])))
