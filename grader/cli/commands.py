"""What each command does, as keyword-only functions; ``main.py`` only parses and calls these.

The learner's and the instructor's tools are imported when their command runs, so that
``grader grade`` starts without them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from grader.engine.session import grade_submission
from grader.files import write_json
from grader.paths import EXERCISES_DIR
from grader.report.terminal import print_report
from grader.results import Submission
from grader.settings import Settings


class UsageError(ValueError):
    """A mistake in how the command was called: exit status 2."""


def grade(*, exercises: Sequence[str] = (), submission: Path | None = None,
          json_path: Path | None = None, settings: Settings, verbose: bool = False) -> int:
    """Grade one submission, print the report, optionally write the JSON document."""
    if settings.device == "cuda":
        _require_cuda()
    submission = Path(submission) if submission else EXERCISES_DIR
    if not submission.exists():
        raise UsageError(f"{submission} does not exist")
    result: Submission = grade_submission(submission=submission, exercises=exercises,
                                          settings=settings)
    print_report(result, verbose=verbose)
    if json_path is not None:
        write_json(json_path, result.to_dict())
        print(f"  JSON result written to {json_path}", file=sys.stdout)
    return 0 if result.all_passed else 1


def batch(*, submissions: Path, out: Path, settings: Settings, exercises: Sequence[str] = (),
          force: bool = False, shard: str | None = None, jobs: int | None = None) -> int:
    """Grade a class into ``out``; exit 0 whenever the batch ran, whatever the students scored."""
    from grader.instructor.batch import BatchError, run_batch

    try:
        outcome = run_batch(submissions=Path(submissions), out=Path(out), settings=settings,
                            exercises=exercises, jobs=jobs or settings.jobs, force=force,
                            shard_spec=shard)
    except BatchError as exc:
        raise UsageError(str(exc)) from None
    print(_batch_line(outcome.results, out)
          + f" ({outcome.graded} graded now, {outcome.resumed} from an earlier run, "
            f"{outcome.seconds:.1f} s)")
    print(f"  {settings.limits.describe()}")
    return 0


def _batch_line(results: list, out: Path) -> str:
    from grader.report.gradebook import row_status

    counts: dict[str, int] = {}
    for r in results:
        status = row_status(r)[0]
        counts[status] = counts.get(status, 0) + 1
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return (f"{len(results)} submissions ({parts or 'none'}): {Path(out) / 'gradebook.csv'}, "
            f"{Path(out) / 'summary.html'}")


def merge(*, dirs: Sequence[Path], out: Path) -> int:
    """Combine batch outputs (shards) into one gradebook, summary, results/ and feedback/."""
    from grader.instructor.batch_outputs import merge_outputs

    missing = [str(d) for d in dirs if not (Path(d) / "results").is_dir()]
    if missing:
        raise UsageError(f"not a batch output folder (no results/): {', '.join(missing)}")
    results, clashes = merge_outputs([Path(d) for d in dirs], Path(out))
    for name in clashes:
        print(f"grader: warning: {name} is in more than one folder; the last one given wins",
              file=sys.stderr)
    print(_batch_line(results, out))
    return 0


def gradescope(*, submission: Path | None, results: Path | None, settings: Settings,
               exercises: Sequence[str] = (), visibility: str = "visible",
               build_zip: Path | None = None) -> int:
    """Grade a Gradescope upload into results.json (or, with ``build_zip``, build the zip)."""
    from grader.instructor import gradescope as gs
    if build_zip is not None:
        print(f"autograder zip written to {gs.build_zip(build_zip)}")
        return 0
    default_submission, default_results = gs.default_paths()
    submission, results = submission or default_submission, results or default_results
    if not Path(submission).exists():
        raise UsageError(f"{submission} does not exist")
    doc = gs.run(submission=Path(submission), results_path=Path(results), settings=settings,
                 exercises=exercises, visibility=visibility)
    print(doc["output"])
    print(f"  Gradescope results written to {results}")
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
