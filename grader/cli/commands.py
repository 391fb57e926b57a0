"""What each command does, as keyword-only functions; ``main.py`` only parses and calls these.

The learner's and the instructor's tools are imported when their command runs, so that
``grader grade`` starts without them.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Sequence

from grader import registry
from grader.course import for_settings
from grader.engine.notebook_source import exercise_of
from grader.engine.session import grade_submission
from grader.files import write_json
from grader.paths import EXERCISES_DIR
from grader.report.terminal import print_report
from grader.results import Submission
from grader.settings import Settings


class UsageError(ValueError):
    """A mistake in how the command was called: exit status 2."""


NOT_IN_STUDENT_KIT = ("`grader {command}` is one of your course's commands (grading a class, "
                      "Gradescope, releases); it is not part of the student kit. "
                      "`grader grade`, `watch`, `hint` and `show-predictions` are yours.")


def _instructor(module: str, command: str) -> ModuleType:
    """``grader.instructor.<module>``; a student kit has no instructor package, and says so."""
    try:
        return importlib.import_module(f"grader.instructor.{module}")
    except ModuleNotFoundError as exc:
        if exc.name in ("grader.instructor", f"grader.instructor.{module}"):
            raise UsageError(NOT_IN_STUDENT_KIT.format(command=command)) from None
        raise


def grade(*, exercises: Sequence[str] = (), submission: Path | None = None,
          json_path: Path | None = None, settings: Settings, verbose: bool = False) -> int:
    """Grade one submission, print the report, optionally write the JSON document."""
    if settings.device == "cuda":
        _require_cuda()
    submission = Path(submission) if submission else EXERCISES_DIR
    if not submission.exists():
        raise UsageError(f"{submission} does not exist")
    notebook = str(submission) if submission.suffix.lower() == ".ipynb" else None
    if notebook and not exercises:
        # A notebook holds one exercise: grade that one, not every exercise of the course.
        exercises = [e for e in [exercise_of(submission)] if e]
    result: Submission = grade_submission(submission=submission, exercises=exercises,
                                          settings=settings)
    print_report(result, verbose=verbose, notebook=notebook, exit_status=True)
    if json_path is not None:
        write_json(json_path, result.to_dict())
        print(f"  JSON result written to {json_path}", file=sys.stdout)
    return 0 if result.all_passed else 1


def batch(*, submissions: Path, out: Path, settings: Settings, exercises: Sequence[str] = (),
          force: bool = False, shard: str | None = None, jobs: int | None = None,
          only: Sequence[str] | None = None, roster: Path | None = None,
          overrides: Path | None = None, assignment: str | None = None) -> int:
    """Grade a class into ``out``; exit 0 whenever the batch ran, whatever the students scored."""
    batch_module = _instructor("batch", "batch")
    outputs = _instructor("batch_outputs", "batch")
    from grader.instructor.class_files import ClassFileError

    options = outputs.OutputOptions(roster=roster, overrides=overrides, assignment=assignment)
    try:
        outcome = batch_module.run_batch(
            submissions=Path(submissions), out=Path(out), settings=settings, exercises=exercises,
            jobs=jobs or settings.jobs, force=force, shard_spec=shard, only=only or (), options=options)
    except (batch_module.BatchError, ClassFileError) as exc:
        raise UsageError(str(exc)) from None
    print(_batch_line(outcome.results, out)
          + f" ({outcome.graded} graded now, {outcome.resumed} from an earlier run, "
            f"{outcome.seconds:.1f} s)")
    print(f"  {settings.limits.describe()}")
    _warn(options.warnings)
    return 0


def _warn(warnings: Sequence[str]) -> None:
    from grader.report.text import plain

    for line in dict.fromkeys(warnings):
        print(f"grader: warning: {plain(line)}", file=sys.stderr)


def _batch_line(results: list, out: Path) -> str:
    from grader.report.gradebook import row_status

    counts: dict[str, int] = {}
    for r in results:
        status = row_status(r)[0]
        counts[status] = counts.get(status, 0) + 1
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))

    return (f"{len(results)} submissions ({parts or 'none'}): {Path(out) / 'gradebook.csv'}, "
            f"{Path(out) / 'summary.html'}")


def merge(*, dirs: Sequence[Path], out: Path, settings: Settings, roster: Path | None = None,
          overrides: Path | None = None, assignment: str | None = None) -> int:
    """Combine batch outputs (shards) into one gradebook, summary, results/ and feedback/."""
    outputs = _instructor("batch_outputs", "merge")
    from grader.instructor.class_files import ClassFileError

    missing = [str(d) for d in dirs if not (Path(d) / "results").is_dir()]
    if missing:
        raise UsageError(f"not a batch output folder (no results/): {', '.join(missing)}")
    options = outputs.OutputOptions(roster=roster, overrides=overrides, assignment=assignment)
    try:
        results, clashes = outputs.merge_outputs([Path(d) for d in dirs], Path(out), options=options,
                                                 course=for_settings(settings))
    except ClassFileError as exc:
        raise UsageError(str(exc)) from None
    _warn([f"{name}: an exercise graded in more than one folder; the last folder given wins"
           for name in clashes] + options.warnings)
    print(_batch_line(results, out))
    return 0


def gradescope(*, submission: Path | None, results: Path | None, settings: Settings,
               exercises: Sequence[str] = (), visibility: str | None = None,
               hidden_visibility: str | None = None, build_zip: Path | None = None) -> int:
    """Grade a Gradescope upload into results.json (or, with ``build_zip``, build the zip of
    the assignment, or of ``exercises``, with these visibilities)."""
    gs = _instructor("gradescope", "gradescope")
    course = for_settings(settings)
    if build_zip is not None:
        course = gs.with_visibility(course, visibility, hidden_visibility)
        if exercises:
            course = course.with_exercises(e.id for e in registry.select(list(exercises)))
        print(f"autograder zip written to {gs.build_zip(build_zip, course=course)}")
        return 0
    default_submission, default_results = gs.default_paths()
    submission, results = submission or default_submission, results or default_results
    if not Path(submission).exists():
        raise UsageError(f"{submission} does not exist")
    doc = gs.run(submission=Path(submission), results_path=Path(results), settings=settings,
                 exercises=exercises, course=gs.with_visibility(course, visibility, hidden_visibility))
    print(doc["output"])
    print(f"  Gradescope results written to {results}")
    return 0


def release(*, out: Path, settings: Settings) -> int:
    """Write the course's release: student/, autograder.zip, solutions/ (instructor/release.py)."""
    rel = _instructor("release", "release")
    try:
        done = rel.release(out=Path(out), course=for_settings(settings))
    except rel.ReleaseError as exc:
        raise UsageError(str(exc)) from None
    summary = done.summary()
    print(f"released {len(done.exercises)} exercises into {out}: student/, autograder.zip, "
          f"solutions/ (maximum {summary['max_score']:g} points)")
    for ex_id, row in summary["exercises"].items():
        pub, hid = row["public"], row["hidden"]
        print(f"  {ex_id:20} public {pub['checks']:>2} checks {pub['points']:>4g} points   "
              f"hidden {hid['checks']:>2} checks {hid['points']:>4g} points")
    return 0


def course(*, settings: Settings) -> int:
    """Print the assignment as course.toml makes it: every check, its points and visibility."""
    course_report = _instructor("release", "course").course_report
    print(course_report(for_settings(settings)))
    return 0


def watch(*, exercise: str | None = None, settings: Settings) -> int:
    """Re-grade an exercise every time its file is saved (``practice/watch.py``)."""
    from grader.practice.watch import watch

    return watch(exercise=exercise, settings=settings)


def hint(*, exercise: str, submission: Path | None = None, settings: Settings) -> int:
    """The next hint for the first check not passed yet (``practice/hints.py``)."""
    from grader.practice.hints import hint

    return hint(exercise=exercise, submission=submission, settings=settings)


def show_predictions(*, submission: Path | None = None, out: Path | None = None, n: int = 32,
                     settings: Settings) -> int:
    """Train the learner's ex04 model and draw its predictions (``practice/predictions.py``)."""
    from grader.practice.predictions import PredictionsError, show_predictions

    try:
        shown = show_predictions(submission=submission, out=out, n=n, settings=settings)
    except PredictionsError as exc:
        print(f"grader: no predictions: {exc}", file=sys.stderr)
        return 1
    print(shown.summary())
    return 0


def svd_digits(*, submission: Path | None = None, out: Path | None = None,
               settings: Settings) -> int:
    """Rebuild digits from the learner's ex08 pca and draw them (``practice/svd_digits.py``)."""
    from grader.practice.svd_digits import SvdDigitsError, show_svd_digits

    try:
        shown = show_svd_digits(submission=submission, out=out, settings=settings)
    except SvdDigitsError as exc:
        print(f"grader: no picture: {exc}", file=sys.stderr)
        return 1
    print(shown.summary())
    return 0


def _require_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for, but no CUDA device is available")
