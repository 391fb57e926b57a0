"""The assignment's checks without grading anything: what each suite holds once the course
is applied, read by pytest's collection with the grader's own rules (``check_spec``).

``grader course`` prints it, ``grader release`` counts the hidden checks the student kit
does not hold and checks the suites it strips against it, and the kit's tests compare the
maximum it gives with what grading reports. A check is one test per device for the tests
that take ``device`` (the CUDA one informational), exactly as when grading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from grader import registry
from grader.course import Course
from grader.engine.markers import MarkerError
from grader.engine.plugin import check_spec, course_problems, exercise_id, informational
from grader.paths import SUITES_DIR
from grader.results import CheckKind, Hidden, Visibility


class PlanError(RuntimeError):
    """The suites could not be collected (a malformed marker, a course key naming nothing)."""


@dataclass(frozen=True)
class PlannedCheck:
    exercise: str
    id: str                  # as in the results: the test's name without test_, with [device]
    name: str                # as course.toml keys it: without the parameters
    points: float            # what it is worth (0 for an informational check)
    kind: CheckKind
    visibility: Visibility
    device: str | None
    informational: bool


@dataclass
class Plan:
    checks: list[PlannedCheck]
    speed: dict[str, tuple[float, str]] = field(default_factory=dict)   # "ex.function": (T, baseline)
    thresholds: dict[str, dict[str, float]] = field(default_factory=dict)  # ex -> name -> value

    def of(self, exercise: str) -> list[PlannedCheck]:
        return [c for c in self.checks if c.exercise == exercise]

    @property
    def exercises(self) -> list[str]:
        return list(dict.fromkeys(c.exercise for c in self.checks))

    def max_score(self, exercise: str | None = None) -> float:
        return round(sum(c.points for c in self.checks
                         if exercise is None or c.exercise == exercise), 6)

    def hidden(self, exercise: str) -> Hidden:
        """The hidden checks that count (informational ones never score, so are not counted)."""
        hidden = [c for c in self.of(exercise)
                  if c.visibility is Visibility.HIDDEN and not c.informational]
        return Hidden(len(hidden), round(sum(c.points for c in hidden), 6))

    def hidden_tests(self, exercise: str) -> set[str]:
        """The test functions (``test_<name>``) whose checks are hidden."""
        return {f"test_{c.name}" for c in self.of(exercise) if c.visibility is Visibility.HIDDEN}


class _Planner:
    def __init__(self, course: Course) -> None:
        self.course = course
        self.items: list[Any] = []
        self.errors: list[str] = []
        self.modules: dict[str, Any] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "exercise(id, note): the exercise a suite grades")
        config.addinivalue_line("markers", "check(points, kind, function, hints, visibility): a check")

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "device" in metafunc.fixturenames:        # as the grading plugin parametrises it
            metafunc.parametrize("device", [pytest.param("cpu"), pytest.param("cuda")])

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        specs = {}
        for item in items:
            try:
                specs[item.nodeid] = check_spec(item, self.course)
            except MarkerError as exc:
                self.errors.append(str(exc))
        self.errors += course_problems(self.course, items, specs)
        self.items = [(item, specs.get(item.nodeid)) for item in items]
        for item in items:
            try:
                self.modules.setdefault(exercise_id(item), item.module)
            except MarkerError:
                pass

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")


def plan(course: Course, exercises: list[str] | None = None) -> Plan:
    """Every check of the assignment's exercises (or those named), with the course applied."""
    selected = registry.select(exercises, course)
    planner = _Planner(course)
    args = [str(e.suite) for e in selected] + [
        "--collect-only", "-c", str(SUITES_DIR / "pytest.ini"), "--rootdir", str(SUITES_DIR),
        "-p", "no:cacheprovider", "-p", "no:terminal", "--import-mode=importlib", "-W", "ignore"]
    code = pytest.main(args, plugins=[planner])
    if planner.errors or code not in (pytest.ExitCode.OK,):
        raise PlanError("; ".join(planner.errors) or f"pytest exit code {code}")
    checks = []
    for item, spec in planner.items:
        device = getattr(getattr(item, "callspec", None), "params", {}).get("device")
        extra = informational(device)
        checks.append(PlannedCheck(
            exercise=exercise_id(item), id=item.name.removeprefix("test_"),
            name=getattr(item, "originalname", item.name).removeprefix("test_"),
            points=0.0 if extra else spec.points, kind=spec.kind, visibility=spec.visibility,
            device=device, informational=extra))
    order = {e.id: i for i, e in enumerate(selected)}
    speed, thresholds = {}, {}
    for ex_id, module in planner.modules.items():
        for function, case in getattr(module, "SPEED", {}).items():
            speed[f"{ex_id}.{function}"] = (course.speed_target(ex_id, function, case.target),
                                            getattr(case, "baseline", "the baseline"))
        declared = getattr(module, "THRESHOLDS", {})
        if declared:
            thresholds[ex_id] = {k: course.threshold(ex_id, k, v) for k, v in declared.items()}
    return Plan(sorted(checks, key=lambda c: order[c.exercise]), speed, thresholds)
