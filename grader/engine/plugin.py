"""The pytest plugin that runs the hidden suites: fixtures for the suites, and a collector
that turns every test's outcome into a typed ``Check``.

Suites mark themselves ``pytest.mark.exercise("ex03_matmul")`` and each test
``pytest.mark.check(points=..., kind=..., function=..., hints=(...), visibility=...)``; both markers are
checked before anything runs (``markers.py``). Fixtures:

- ``ex``: the learner's module of the suite's exercise, as a proxy into the worker
  (``grader/isolation/proxies.py``: the suite-author API);
- ``source``: the text of that module (for static constraint scans);
- ``rng``: a NumPy generator seeded from the run's seed and the test's id;
- ``seed``, ``settings``, ``check`` (the record of the running check);
- ``device``: a test that asks for it runs once per device, ``cuda`` skipped where absent;
- ``speed``: ``speed.check(case, device)`` times a function against its baseline;
- ``course``: ``course.threshold(name)``, a threshold the suite declares in ``THRESHOLDS``
  (its default there), as the assignment sets it (``grader/course.py``).

The assignment (``course.toml``) may change a check's points and visibility, the thresholds
and the speed targets; its keys are checked against the collected suites before any test runs.
"""

from __future__ import annotations

import gc
import re
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader import registry, truncation
from grader.checks import causes
from grader.checks.expect import CheckFailed, LearnerSource, fail
from grader.course import Course
from grader.engine.gating import gate
from grader.engine.markers import CheckSpec, MarkerError, parse_check, parse_exercise
from grader.engine.raised_call import failed_call
from grader.engine.timing import References, SpeedCase, Verdict, measure
from grader.errors import (ImportFailed, LearnerError, LearnerRaised, ModuleMissing, NotStarted,
                           Refused, TimedOutBefore, WorkerDied, WorkerTimeout)
from grader.isolation.client import Learner
from grader.isolation.pool import Pool
from grader.isolation.proxies import ModuleProxy
from grader.results import Check, CheckStatus, Exercise, Timing, Visibility
from grader.settings import Settings

NOT_STARTED = "not started: {function} still raises NotImplementedError"
MISSING = "not started: {file} is not in the submission"
IMPORT_FAILED = "{file} could not be imported: {reason}"
RAISED = "{call} raised {type}: {message}"
TIMED_OUT = "timed out: {what} did not finish within {seconds:g} s (an endless loop?)"
NOT_RUN_TIMED_OUT = ("not run: {what} already timed out in check {check} (it did not finish within "
                     "{seconds:g} s), so it is not called again; fix that first")
REFUSED = "{call} was stopped:\n  {reason}"
NOT_RUN_REFUSED = "{file} was not run:\n  {reason}"
DIED = "{reason}"
INTERNAL = "internal error in the grader (not your fault, please report it): {error}"
RETURNED_NONE = ("{function} returned None where the check needed a result, so it stopped with "
                 "{error}")
RETURNED_UNUSABLE = ("{function} returned something the check could not use, so it stopped with "
                     "{error}; the docstring says what to return")
NO_CUDA = "no CUDA device on this machine"
CUDA_NOT_SELECTED = "GPU checks not selected (--device cpu)"
TIMING_DISABLED = "timing disabled (--no-timing)"
NO_REFERENCE = "no speed baseline for {module} (baselines/{module}.py), so there is nothing to time against"


@dataclass
class CheckRecord:
    """What a running test may add to its check beyond pass/fail."""

    timing: Timing | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    learner: Learner
    submission_dir: Path
    seed: int
    settings: Settings
    pool: Pool
    cuda_available: bool = False
    course: Course = field(default_factory=Course)


class CourseView:
    """What the suites' ``course`` fixture gives: the assignment's values for one exercise."""

    def __init__(self, course: Course, exercise: str, declared: dict[str, float]) -> None:
        self.course, self.exercise, self.declared = course, exercise, declared

    def threshold(self, name: str) -> float:
        if name not in self.declared:
            raise KeyError(f"{self.exercise}: the suite asks for threshold {name!r} but does not "
                           f"declare it in THRESHOLDS")
        return self.course.threshold(self.exercise, name, self.declared[name])


class Collector:
    def __init__(self, context: Context, selected: list[registry.ExerciseInfo]) -> None:
        self.context = context
        self.exercises = {e.id: Exercise(e.id, e.title, hidden=context.course.hidden_for(e.id))
                          for e in selected}
        self.notes: dict[str, str] = {}      # an exercise's report note, from its suite's marker
        self.errors: list[str] = []
        self._failures: dict[str, Any] = {}
        self._checks: dict[str, CheckSpec] = {}
        # The baselines' worker, forked on first use (or early, by _start_references).
        self.references = References(context.pool, cuda=context.learner.cuda)

    # -- configuration and fixtures ----------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "exercise(id, note): the exercise a suite grades")
        config.addinivalue_line("markers", "check(points, kind, function, hints, visibility): one graded check")
        # Outcomes are read from the exceptions, never from pytest's report text; its default
        # "long" tracebacks parse every frame's source and cost ~50 ms per failing check.
        config.option.tbstyle = "native"

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "device" in metafunc.fixturenames:
            metafunc.parametrize("device", [
                pytest.param("cpu"),
                pytest.param("cuda", marks=pytest.mark.skipif(
                    not self._cuda_selected(), reason=self._cuda_reason())),
            ])

    def _cuda_selected(self) -> bool:
        return self.context.cuda_available and self.context.settings.device != "cpu"

    def _cuda_reason(self) -> str:
        return NO_CUDA if not self.context.cuda_available else CUDA_NOT_SELECTED

    @pytest.fixture
    def ex(self, request: pytest.FixtureRequest) -> ModuleProxy:
        return self.context.learner.module(_exercise_id(request.node))

    @pytest.fixture
    def source(self, request: pytest.FixtureRequest) -> LearnerSource:
        return LearnerSource(self.context.submission_dir / f"{_exercise_id(request.node)}.py")

    @pytest.fixture
    def seed(self) -> int:
        return self.context.seed

    @pytest.fixture
    def settings(self) -> Settings:
        return self.context.settings

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        return np.random.default_rng([self.context.seed, zlib.crc32(request.node.nodeid.encode())])

    @pytest.fixture
    def course(self, request: pytest.FixtureRequest) -> CourseView:
        return CourseView(self.context.course, _exercise_id(request.node),
                          getattr(request.module, "THRESHOLDS", {}))

    @pytest.fixture
    def check(self, request: pytest.FixtureRequest) -> CheckRecord:
        record = CheckRecord()
        request.node.grader_record = record
        return record

    @pytest.fixture
    def speed(self, check: CheckRecord, rng: np.random.Generator) -> SpeedCheck:
        """``speed.check(case, device)``: a speed target against its baseline (engine/timing.py)."""
        return SpeedCheck(learner=self.context.learner, references=self.references,
                          settings=self.context.settings, record=check, rng=rng,
                          course=self.context.course)

    def pytest_sessionfinish(self) -> None:
        self.references.close()
        for exercise in self.exercises.values():    # no point without correct work
            gate(exercise)

    def start_references(self, selected: list[registry.ExerciseInfo]) -> None:
        """Start the reference worker before pytest does anything, for the suites that ask for
        ``speed`` (read from their text; ``pytest_collection_finish`` checks the collected tests)."""
        self._start_references({e.id for e in selected if _SPEED_FIXTURE.search(e.suite.read_text())})

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Read every test's markers before any test runs, with the assignment's changes to
        them: a malformed marker or a course key that names nothing stops the run."""
        for item in items:
            try:
                exercise = _exercise_marker(item)
                self._checks[item.nodeid] = check_spec(item, self.context.course)
            except MarkerError as exc:
                self.errors.append(str(exc))
                continue
            if exercise.note:
                self.notes[exercise.id] = exercise.note
        self.errors += course_problems(self.context.course, items, self._checks)
        if self.errors:
            raise pytest.UsageError("; ".join(self.errors))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Start the reference worker now, when a speed check will need it, so that it imports
        its libraries while the correctness checks run (``Learner.start``).

        The suites and their libraries (PyTorch's tens of thousands of objects) are loaded
        now and stay: ``gc.freeze`` keeps the garbage collector from walking them again at
        every collection of the grading that follows."""
        gc.freeze()
        self._start_references({_exercise_id(item) for item in session.items
                                if "speed" in getattr(item, "fixturenames", ())})

    def _start_references(self, timed: set[str]) -> None:
        if not self.context.settings.timing:
            return
        timed &= self.context.learner.available   # a missing module never reaches the reference
        for ex_id in sorted(timed):
            self.references.start(ex_id)

    # -- collecting outcomes -----------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> None:
        if call.excinfo is not None and item.nodeid not in self._failures:
            self._failures[item.nodeid] = call.excinfo.value

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        self.context.learner.current_check = item.name.removeprefix("test_")
        yield
        self._record(item, self._failures.pop(item.nodeid, None))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(f"{report.nodeid}: {report.longreprtext[-truncation.COLLECT_ERROR_CHARS:]}")

    def _record(self, item: pytest.Item, exc: BaseException | None) -> None:
        ex_id = _exercise_id(item)
        info = registry.BY_ID[ex_id]
        spec = self._checks[item.nodeid]
        name = item.name.removeprefix("test_")
        function = spec.function or _guess_function(name, info.functions)
        device = getattr(getattr(item, "callspec", None), "params", {}).get("device")
        status, feedback, not_started = classify(exc, function=function, module=ex_id, hints=spec.hints,
                                                 memory_mb=self.context.settings.limits.memory_mb)
        record: CheckRecord | None = getattr(item, "grader_record", None)
        if record and record.notes:
            feedback = "\n".join(filter(None, [feedback, *record.notes]))
        output = self.context.learner.take_output()
        if output.strip() and status not in (CheckStatus.PASSED, CheckStatus.SKIPPED):
            feedback += "\n  your code printed:\n    " + output.strip().replace("\n", "\n    ")
        # The maximum is the assignment's, the same on every machine and with every flag: a
        # check not run here (timing disabled) keeps its points in the maximum and scores 0,
        # and a GPU variant is informational, never worth points, run or not.
        extra = informational(device)
        worth = 0.0 if extra else spec.points
        check = Check(id=name, kind=spec.kind, status=status, max_points=worth,
                      points=worth if status is CheckStatus.PASSED else 0.0,
                      feedback=feedback, function=function, device=device,
                      timing=record.timing if record else None, not_started=not_started,
                      hints=spec.hints, visibility=spec.visibility, informational=extra,
                      role=spec.role)
        self.exercises[ex_id].checks.append(check)
        # SPEC: an exercise is `error` when its module cannot be loaded or its worker died.
        if isinstance(exc, (ImportFailed, WorkerDied)) and self.exercises[ex_id].error is None:
            self.exercises[ex_id].error = feedback


class SpeedCheck:
    """What the suites' ``speed`` fixture gives: ``speed.check(case, device)`` passes, or
    raises ``CheckFailed`` with the times, the ratio and a hint; skipped without timing."""

    def __init__(self, *, learner: Learner, references: References, settings: Settings,
                 record: CheckRecord, rng: np.random.Generator, course: Course | None = None) -> None:
        self.learner, self.references, self.settings = learner, references, settings
        self.record, self.rng, self.course = record, rng, course or Course()

    def check(self, case: SpeedCase, device: str = "cpu") -> Verdict:
        case = replace(case, target=self.course.speed_target(case.module, case.function, case.target))
        if not self.settings.timing:
            pytest.skip(TIMING_DISABLED)
        reference = self.references.get(case.module)
        if reference is None:
            pytest.skip(NO_REFERENCE.format(module=case.module))
        verdict = measure(case, learner=self.learner, reference=reference, device=device,
                          rng=self.rng, call_timeout=self.settings.limits.call_timeout_s,
                          lock=self.settings.timing_lock)
        self.record.timing = verdict.timing()
        if not verdict.passed:
            raise CheckFailed(verdict.feedback())
        self.record.notes.append(verdict.summary())
        return verdict


def classify(exc: BaseException | None, *, function: str | None, module: str,
             hints: tuple[str, ...] = (), memory_mb: float | None = None
             ) -> tuple[CheckStatus, str, bool]:
    """The status, feedback and not-started flag for a test that ended with ``exc``.

    ``hints`` are the check's own (the first is shown when nothing about an exception points
    at its cause); ``memory_mb`` is the worker's memory limit, named when the learner's code
    runs out of memory."""
    fn = function or "the function"
    if exc is None:
        return CheckStatus.PASSED, "", False
    if isinstance(exc, pytest.skip.Exception):
        return CheckStatus.SKIPPED, f"skipped: {exc.msg}", False
    if isinstance(exc, CheckFailed):
        return CheckStatus.FAILED, exc.feedback, False
    if isinstance(exc, NotStarted):
        return CheckStatus.FAILED, NOT_STARTED.format(function=fn), True
    if isinstance(exc, ModuleMissing):
        return CheckStatus.FAILED, MISSING.format(file=f"{module}.py"), True
    if isinstance(exc, ImportFailed):
        if isinstance(exc.cause, Refused):
            return CheckStatus.ERROR, NOT_RUN_REFUSED.format(file=f"{module}.py",
                                                             reason=exc.cause), False
        return CheckStatus.ERROR, IMPORT_FAILED.format(file=f"{module}.py",
                                                       reason=_learner_text(exc.cause)), False
    if isinstance(exc, Refused):
        return CheckStatus.ERROR, REFUSED.format(call=f"{fn}(...)", reason=exc), False
    if isinstance(exc, TimedOutBefore):
        return CheckStatus.TIMEOUT, NOT_RUN_TIMED_OUT.format(what=exc.what, seconds=exc.seconds,
                                                             check=exc.during), False
    if isinstance(exc, LearnerRaised):
        return CheckStatus.FAILED, _raised_feedback(exc, fn, hints, memory_mb), False
    if isinstance(exc, WorkerTimeout):
        return CheckStatus.TIMEOUT, TIMED_OUT.format(what=exc.what, seconds=exc.seconds), False
    if isinstance(exc, WorkerDied):
        return CheckStatus.ERROR, DIED.format(reason=exc), False
    if isinstance(exc, LearnerError):
        return CheckStatus.ERROR, str(exc), False
    if isinstance(exc, AssertionError):
        return CheckStatus.FAILED, str(exc).split("\nassert")[0], False
    unusable = _unusable_result(exc, fn)
    if unusable is not None:
        return CheckStatus.FAILED, unusable, False
    return CheckStatus.ERROR, INTERNAL.format(error=f"{type(exc).__name__}: {exc}"), False


def _raised_feedback(exc: LearnerRaised, fn: str, hints: tuple[str, ...],
                     memory_mb: float | None) -> str:
    """The call and its inputs as the suite names them (read back from the traceback), what
    the learner's code raised and where, and the hint its cause points at."""
    call = failed_call(exc, fn)
    where = f"\n  at {exc.where}" if exc.where else ""
    if causes.is_out_of_memory(exc.type_name, exc.message):
        problem = causes.memory_text(exc.message, memory_mb) + where
    else:
        problem = f"raised {exc.type_name}: {exc.message}{where}"
    hint = causes.hint_for_raised(exc.type_name, exc.message) or (hints[0] if hints else None)
    try:
        fail(call.text if call else f"{fn}(...)", problem, inputs=call.inputs if call else None,
             hint=hint)
    except CheckFailed as failed:
        return failed.feedback
    raise AssertionError("unreachable")


# What a suite's own code raises when a learner's function returned a value of the wrong kind
# (None, a list for an array) and the suite used it before a helper could say so.
_UNUSABLE = (TypeError, AttributeError, IndexError, KeyError, ValueError, RuntimeError)


def _unusable_result(exc: BaseException, fn: str) -> str | None:
    """The learner's mistake, not the grader's, when a suite stumbles over a returned value:
    an exception raised in the suite's own code (not in the grader's machinery) whose message
    names ``NoneType`` is a None returned; the suite's frame holding a value of the learner's
    that was None, likewise."""
    if not isinstance(exc, _UNUSABLE) or not _raised_in_a_suite(exc):
        return None
    error = f"{type(exc).__name__}: {exc}"
    if "NoneType" in str(exc) or "None" == str(exc).strip("'"):
        return f"{RETURNED_NONE.format(function=fn, error=error)}\n  hint: {causes.RETURNED_NONE}"
    return RETURNED_UNUSABLE.format(function=fn, error=error)


def _raised_in_a_suite(exc: BaseException) -> bool:
    """The innermost frame of ``exc`` that is the kit's is a suite's (NumPy's or torch's own
    frames below it do not count)."""
    tb, last = exc.__traceback__, None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if "/grader/" in name.replace("\\", "/"):
            last = name
        tb = tb.tb_next
    return last is not None and "/grader/suites/" in last.replace("\\", "/")


def _learner_text(exc: LearnerError, call: str = "your code") -> str:
    if isinstance(exc, LearnerRaised):
        text = RAISED.format(call=call, type=exc.type_name, message=exc.message)
        if exc.where:
            text += f"\n  at {exc.where}"
        return text
    if isinstance(exc, WorkerTimeout):
        return TIMED_OUT.format(what=exc.what, seconds=exc.seconds)
    return str(exc)


_SPEED_FIXTURE = re.compile(r"def test_\w+\([^)]*\bspeed\b")


def informational(device: str | None) -> bool:
    """A GPU variant never scores, so the maximum is the same on every machine."""
    return device not in (None, "cpu")


def check_spec(item: Any, course: Course) -> CheckSpec:
    """The check a test is: its marker's, with the assignment's points and visibility."""
    marker = item.get_closest_marker("check")
    spec = parse_check(item.nodeid, marker.args, marker.kwargs) if marker else CheckSpec()
    change = course.override(_exercise_id(item), _check_name(item))
    if change.points is not None:
        spec = replace(spec, points=change.points)
    if change.visibility is not None:
        spec = replace(spec, visibility=change.visibility)
    return spec


def course_problems(course: Course, items: list[Any], specs: dict[str, CheckSpec]) -> list[str]:
    """The assignment's keys that name no check, threshold or speed target of a collected
    suite, and a ``[hidden]`` count (a student kit's) beside suites that hold hidden checks."""
    checks: dict[str, set[str]] = {}
    modules: dict[str, Any] = {}
    for item in items:
        try:
            ex_id = _exercise_id(item)
        except MarkerError:
            continue
        checks.setdefault(ex_id, set()).add(_check_name(item))
        modules[ex_id] = item.module
    where = course.source
    problems = [f"{where}: [hidden] {ex_id}: this kit holds the hidden checks themselves; the "
                f"[hidden] table belongs in a student kit's course.toml (grader release writes it)"
                for ex_id in sorted(course.hidden)
                if any(_exercise_id(i) == ex_id and i.nodeid in specs
                       and specs[i.nodeid].visibility is Visibility.HIDDEN for i in items)]
    for key in course.checks:
        ex_id, name = key.split("/", 1)
        if ex_id in checks and name not in checks[ex_id]:
            problems.append(f"{where}: [checks] {key!r} names no check of {ex_id}; its checks are "
                            f"{', '.join(sorted(checks[ex_id]))}")
    for ex_id, table in course.thresholds.items():
        declared = getattr(modules.get(ex_id), "THRESHOLDS", {})
        for name in set(table) - set(declared) if ex_id in modules else ():
            problems.append(f"{where}: [thresholds.{ex_id}] {name}: the suite declares "
                            f"{', '.join(sorted(declared)) or 'no thresholds'}")
    for key in course.speed:
        ex_id, function = key.split(".", 1)
        declared = getattr(modules.get(ex_id), "SPEED", {})
        if ex_id in modules and function not in declared:
            problems.append(f"{where}: [speed] {key!r}: {ex_id}'s speed targets are "
                            f"{', '.join(sorted(declared)) or 'none'}")
    return problems


def _check_name(item: Any) -> str:
    """The check's name as the assignment file knows it: the test's, without parameters."""
    return getattr(item, "originalname", item.name).removeprefix("test_")


def _exercise_marker(item: Any):
    marker = item.get_closest_marker("exercise")
    if marker is None:
        raise MarkerError(f"{item.nodeid}: the suite has no pytest.mark.exercise marker")
    return parse_exercise(item.nodeid, marker.args, marker.kwargs)


def _exercise_id(item: Any) -> str:
    return _exercise_marker(item).id


exercise_id = _exercise_id      # for engine/plan.py, which collects with these same rules


def _guess_function(check_name: str, functions: tuple[str, ...]) -> str | None:
    """The function (or class: ``simple_mnist_forward`` is ``SimpleMnist``'s) a check is named after."""
    matches = [f for f in functions if check_name == _snake(f) or check_name.startswith(_snake(f) + "_")]
    return max(matches, key=len) if matches else None


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
