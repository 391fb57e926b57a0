"""Grade one submission: load it, start its worker, run the hidden suites under pytest."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import platform
import shutil
from pathlib import Path
from typing import Iterator, Sequence

import pytest

from grader import __version__, registry
from grader.course import Course, for_settings
from grader.engine.notebook_source import cell_errors
from grader.engine.plugin import Collector, Context
from grader.engine.submission import (LoadedSubmission, apply_policy, load_submission,
                                     submission_name)
from grader.errors import SubmissionError
from grader.isolation.client import Learner
from grader.isolation.pool import Pool
from grader.paths import BASELINES_DIR, SUITES_DIR
from grader.results import ExerciseStatus, Submission
from grader.settings import Settings

SUITE_INI = SUITES_DIR / "pytest.ini"
# The suites run in the grader's process with the Collector as their only reporter. Left out:
# pytest's cache, terminal output and stepwise state; unraisableexception and threadexception,
# whose clean-up runs gc.collect() several times per session (up to 0.7 s a session with PyTorch loaded);
# logging, which wraps every phase of every test in handlers the suites never use.
PYTEST_OPTIONS = ("-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:stepwise",
                  "-p", "no:unraisableexception", "-p", "no:threadexception", "-p", "no:logging",
                  "--capture=no", "--import-mode=importlib", "-W", "ignore")


class GraderError(RuntimeError):
    """The grader itself could not run the suites (a bug or a broken install, not the learner)."""


@contextlib.contextmanager
def open_submission(submission: Path, exercise_ids: Sequence[str], settings: Settings, *,
                    preload: Sequence[str], pool: Pool | None = None
                    ) -> Iterator[tuple[LoadedSubmission, Pool, int | None, str | None]]:
    """The submission copied into a scratch folder the workers can see, checked by the static
    policy, with a group id for its workers: ``(loaded, pool, gid, error)``. ``error`` says why
    the submission as a whole cannot be graded (then ``loaded`` is empty). Everything is undone
    at the end, and a pool started here is closed, ending every process of the learner's code.
    """
    own_pool = pool is None
    scratch = gid = None
    try:
        if own_pool:
            # Started first: the zygote imports NumPy (and PyTorch) on the other core while
            # the submission is read and checked here.
            pool = Pool(settings, preload=preload)
        scratch = pool.folder("grading-")
        gid = pool.claim_group()
        error = None
        try:
            loaded = load_submission(Path(submission), scratch / "submission", exercise_ids=exercise_ids)
            apply_policy(loaded)
        except SubmissionError as exc:
            error = str(exc)
            empty = scratch / "empty"
            empty.mkdir()
            loaded = LoadedSubmission(submission_name(Path(submission)), Path(submission), empty,
                                      set(), "", [])
        pool.share(loaded.directory, gid)
        yield loaded, pool, gid, error
    finally:
        if pool is not None:
            pool.release_group(gid)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        if own_pool and pool is not None:
            pool.close()


@contextlib.contextmanager
def learner_for(submission: Path, modules: Sequence[str], settings: Settings, *,
                preload: Sequence[str]) -> Iterator[Learner]:
    """A worker client over a submission, for the tools that run a learner's code outside the
    suites (``show-predictions``, ``svd-digits``): the same copy, policy and isolation as a
    grading. ``SubmissionError`` when the submission cannot be loaded."""
    with open_submission(submission, modules, settings, preload=preload) as (loaded, pool, gid, error):
        if error is not None:
            raise SubmissionError(error)
        with Learner(loaded.directory, pool=pool, modules=sorted(loaded.modules),
                     cells=loaded.cells, refused=loaded.refused, gid=gid) as learner:
            learner.start()
            yield learner


def grade_submission(*, submission: Path, exercises: Sequence[str] | None = None,
                     settings: Settings | None = None, name: str | None = None,
                     course: Course | None = None, pool: Pool | None = None) -> Submission:
    """Grade ``submission`` (a folder, .zip or .ipynb) on the chosen exercises (default: the
    assignment's, ``course.toml``; the course ``settings.course`` names unless one is given).

    ``pool``: the workers' pool to use (a batch child's session); else one is started here and
    closed at the end, and with it every process the learner's code ran.
    """
    settings = settings or Settings()
    course = course or for_settings(settings)
    selected = registry.select(list(exercises) if exercises else None, course)
    ids = [e.id for e in selected]
    with open_submission(Path(submission), ids, settings, pool=pool,
                         preload=registry.preload_for(selected, ids)) as (loaded, pool, gid, error):
        result = _run_suites(loaded, selected, settings, pool, gid, course)
        result.submission = name or loaded.name
        if error is not None:
            result.mark_error(error)
        return result


def _run_suites(loaded: LoadedSubmission, selected: list[registry.ExerciseInfo],
                settings: Settings, pool: Pool, gid: int | None, course: Course) -> Submission:
    cuda = _cuda_possible(selected, settings)
    with Learner(loaded.directory, pool=pool, modules=sorted(loaded.modules), cells=loaded.cells,
                 refused=loaded.refused, gid=gid, cuda=cuda) as learner:
        learner.start()     # forked now: it is ready by the time the first check asks
        context = Context(learner=learner, submission_dir=loaded.directory, seed=settings.seed,
                          settings=settings, pool=pool, course=course)
        collector = Collector(context, selected)
        collector.start_references(selected)   # the reference worker gets ready meanwhile too
        # This imports torch here (for an exercise that uses it): after both workers started.
        cuda = context.cuda_available = _cuda_available(selected, settings)
        args = [str(e.suite) for e in selected] + [
            "-c", str(SUITE_INI), "--rootdir", str(SUITES_DIR), *PYTEST_OPTIONS]
        code = pytest.main(args, plugins=[collector])
        if collector.errors or code in (pytest.ExitCode.INTERNAL_ERROR,
                                        pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
            raise GraderError("the hidden suites could not run: "
                              + ("; ".join(collector.errors) or f"pytest exit code {code}"))
        notes = [settings.limits.describe(), pool.isolation.describe()] + loaded.notes
        # A suite's note (its exercise marker's) is for the learners who started the exercise
        # and whose module loads: ex04's points at `grader show-predictions`.
        notes += [collector.notes[e.id] for e in selected if e.id in collector.notes
                  and collector.exercises[e.id].status in (ExerciseStatus.PASSED, ExerciseStatus.FAILED)]
        for module in sorted(set(loaded.cells) & {e.id for e in selected}):
            # cells that raised, as the worker recorded them, named by the notebook they are in
            notes += cell_errors(learner, [module],
                                 notebook=loaded.notebooks.get(module, loaded.source.name))
        return Submission(submission=loaded.name,
                          exercises=[collector.exercises[e.id] for e in selected],
                          environment=environment(settings, selected, loaded, cuda, course),
                          notes=[n for n in notes if n])


def _cuda_possible(selected: list[registry.ExerciseInfo], settings: Settings) -> bool:
    """Whether a worker may use CUDA (it then needs threads for the driver): a GPU device file
    exists and the device is not ruled out. Decided without importing torch."""
    return (settings.device != "cpu" and any(e.uses_torch for e in selected)
            and any(Path("/dev").glob("nvidia[0-9]*")))


def _cuda_available(selected: list[registry.ExerciseInfo], settings: Settings) -> bool:
    if settings.device == "cpu" or not any(e.uses_torch for e in selected):
        return False
    import torch

    return bool(torch.cuda.is_available())


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def suites_digest(selected: list[registry.ExerciseInfo], course: Course | None = None) -> str:
    """What grades a submission besides its own files: the suites, the speed checks'
    baselines and the assignment (a batch regrades when any of them changes)."""
    h = hashlib.sha256()
    for e in selected:
        h.update(e.suite.name.encode() + b"\0" + e.suite.read_bytes())
        baseline = BASELINES_DIR / e.filename
        if baseline.exists():
            h.update(b"baseline\0" + baseline.read_bytes())
    h.update(b"course\0" + (course or Course()).digest().encode())
    return h.hexdigest()


def environment(settings: Settings, selected: list[registry.ExerciseInfo],
                loaded: LoadedSubmission, cuda: bool, course: Course | None = None) -> dict:
    device = "cpu"
    if cuda:
        import torch

        device = f"cuda ({torch.cuda.get_device_name(0)})"
    return {"grader_version": __version__, "python": platform.python_version(),
            "numpy": _version("numpy"), "torch": _version("torch"), "device": device,
            "seed": settings.seed, "timing": settings.timing,
            "suites_sha256": suites_digest(selected, course), "submission_sha256": loaded.sha256,
            "limits": settings.limits.to_dict()}
