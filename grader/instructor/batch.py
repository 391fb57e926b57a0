"""Grade a class: every submission in its own grading process, in parallel, resumable.

Each submission is graded by a child process (``batch_child.py``: forked from this process,
or ``python -m grader.instructor.batch_child ...``) that runs ``grade_submission`` and writes
``results/<name>.json`` and ``feedback/<name>.md`` atomically the moment it is done. The
parent only schedules children,
enforces the per-submission time limit (killing the child's process group; its workers die
with it), and at the end builds the gradebook and the summary from the result files on disk.
So a batch killed at any moment, even by ``kill -9``, and run again grades only what is
missing and ends with the same gradebook.

Timing checks stay trustworthy in parallel because the timing engine measures inside
``timing_lock.exclusive_timing()``: the batch points every child at one lock file
(``Settings.timing_lock``), so only
one measurement runs at a time while the other children carry on with correctness checks.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence, TextIO

from grader import registry, truncation
from grader.course import for_settings
from grader.files import make_dirs, scratch_dir, sweep_stale_scratch
from grader.instructor.batch_child import ForkedChild, write_result
from grader.instructor.batch_outputs import OutputOptions, class_files, keep_history, write_outputs
from grader.instructor.discovery import (BatchError, Entry, discover, parse_shard, shard, stage,
                                         submitted_at)
from grader.instructor.fingerprint import grader_fingerprint, is_finished
from grader.instructor.fingerprint import submission_fingerprint as fingerprint
from grader.isolation.launch import die_with_parent, kill_group, sandbox_for, thread_env
from grader.isolation.pool import Pool, isolation_for
from grader.paths import KIT_ROOT
from grader.report import gradebook
from grader.report.progress import Progress
from grader.results import Exercise, Submission
from grader.settings import Settings

PAST_LIMIT = "ran past the per-submission limit of {limit:g} s"
CRASHED = "the grader stopped while grading this submission ({why})"
POLL_S = 0.05
FAIL_JOB_TIMEOUT_S = 120.0


UNKNOWN_ONLY = "--only {names}: no such submission under {folder}"


@dataclass
class Outcome:
    entries: list[Entry]
    graded: int
    resumed: int
    seconds: float
    results: list[Submission] = field(default_factory=list)


# -- the run --------------------------------------------------------------------------------------
@dataclass
class _Job:
    entry: Entry
    sha: str
    submitted: tuple[dt.datetime | None, str] = (None, "")
    fail_reason: str | None = None     # set: record this error instead of grading
    elapsed: float = 0.0               # for a fail job: how long the grading ran
    proc: "subprocess.Popen | ForkedChild | None" = None
    started: float = 0.0
    log: Path | None = None


def run_batch(*, submissions: Path, out: Path, settings: Settings, exercises: Sequence[str] = (),
              jobs: int = 0, force: bool = False, shard_spec: str | None = None,
              only: Sequence[str] = (), options: OutputOptions | None = None,
              stream: TextIO | None = None) -> Outcome:
    """Grade every submission under ``submissions`` into ``out``; see the module docstring.
    ``only``: regrade these submissions (whatever is on disk) and keep the others' results."""
    stream = stream or sys.stderr
    out = Path(out)
    course = for_settings(settings)
    selected = registry.select(list(exercises) if exercises else None, course)
    ids = [e.id for e in selected]
    entries = discover(submissions)
    if shard_spec:
        entries = shard(entries, *parse_shard(shard_spec))
    unknown = sorted(set(only) - {e.name for e in entries})
    if unknown:
        raise BatchError(UNKNOWN_ONLY.format(names=", ".join(unknown), folder=submissions))
    options = options or OutputOptions()
    class_files(out, options)          # a malformed roster or overrides file stops the batch now
    jobs = jobs or settings.jobs or os.cpu_count() or 1
    grader_fp = grader_fingerprint(settings, course)
    for sub in ("results", "feedback"):
        make_dirs(out / sub)
        for stale in (out / sub).glob(".*.tmp"):     # left by a run killed mid-write
            stale.unlink(missing_ok=True)
    sweep_stale_scratch()      # what an earlier batch killed mid-run (even kill -9) left behind
    logs = scratch_dir("batch-")
    entries = stage(entries, logs)

    todo: deque[_Job] = deque()
    for entry in entries:
        if only and entry.name not in only:
            continue
        sha = fingerprint(entry.path, ids)
        done_path = out / "results" / f"{entry.name}.json"
        done = gradebook.read_result(done_path)
        if force or only or not is_finished(done, sha=sha, fingerprint=grader_fp):
            keep_history(done_path)          # the earlier result, kept for comparison
            todo.append(_Job(entry, sha, submitted_at(entry)))
    resumed = len(entries) - len(todo)
    pool = None
    if todo:
        preload_for_children(selected, settings)
        settings = child_settings(settings)
        pool = shared_pool(selected, settings)
    progress = Progress(len(entries), stream, resumed=resumed)
    running: list[_Job] = []
    numbers = itertools.count()
    try:
        while todo or running:
            while todo and len(running) < jobs:
                job = todo.popleft()
                _start(job, out=out, ids=ids, settings=settings, logs=logs, number=next(numbers),
                       pool=pool, grader_fp=grader_fp)
                running.append(job)
            time.sleep(POLL_S)
            for job in list(running):
                follow_up = _check(job, out=out, ids=ids, settings=settings, progress=progress)
                if follow_up is not False:
                    running.remove(job)
                if isinstance(follow_up, _Job):
                    todo.appendleft(follow_up)
    finally:
        for job in running:            # interrupted (Ctrl-C): leave no child behind
            _kill(job.proc)
        if pool is not None:
            pool.close()
        shutil.rmtree(logs, ignore_errors=True)
    results = [r for r in (gradebook.read_result(out / "results" / f"{e.name}.json") for e in entries)
               if r is not None]
    write_outputs(out, results, settings=settings, options=options, course=course)
    return Outcome(entries, progress.graded, resumed, progress.finish(), results)


def child_settings(settings: Settings) -> Settings:
    """The settings every child grades with: one timing lock file for the whole batch (and
    every batch of this user on the machine), and the sandbox probed once here, not per child."""
    lock = settings.timing_lock or str(Path(tempfile.gettempdir()) / f"grader-timing-{os.getuid()}.lock")
    probe = tuple(sandbox_for(settings)) if settings.sandbox else None
    return replace(settings, timing_lock=lock, sandbox_probe=probe)


def shared_pool(selected: Sequence[registry.ExerciseInfo], settings: Settings) -> Pool | None:
    """One worker pool for the whole batch, whose zygote has NumPy and PyTorch loaded: each
    forked child grades in a session of it, so no submission pays for those imports. Only
    where every worker has a uid of its own (the grader is root): with one uid for all, a
    learner's code could read another submission in the shared sandbox, so each child then
    starts a pool of its own."""
    if not _fork_children(settings):
        return None
    isolation = isolation_for(settings)
    if not isolation.uids:
        return None
    ids = [e.id for e in selected]
    return Pool(settings, preload=registry.preload_for(selected, ids), isolation=isolation)


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(KIT_ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(thread_env(settings.threads))
    return env


def _start(job: _Job, *, out: Path, ids: list[str], settings: Settings, logs: Path,
           number: int, pool: Pool | None = None, grader_fp: str = "") -> None:
    when, source = job.submitted
    files = ", ".join(p.name for p in job.entry.sources) or job.entry.path.name
    argv = ["--submission", str(job.entry.path.absolute()), "--name", job.entry.name,
            "--out", str(out.resolve()), "--sha", job.sha, "--fingerprint", grader_fp,
            "--file", files, "--submitted-at", when.isoformat() if when else "",
            "--submitted-from", source,
            "--settings", json.dumps(settings.to_dict()), "--exercises", *ids]
    if job.fail_reason is not None:
        argv += ["--fail-reason", job.fail_reason, "--elapsed", f"{job.elapsed:.3f}"]
    job.log = logs / f"{number}.log"
    work = logs / f"cwd-{number}"        # the child's scratch working directory
    work.mkdir()
    if _fork_children(settings):
        job.proc = ForkedChild(argv, log=job.log, cwd=work, env=_child_env(settings),
                               pool=pool.session() if pool is not None else None)
    else:
        with open(job.log, "wb") as log:
            parent = os.getpid()
            job.proc = subprocess.Popen([sys.executable, "-m", "grader.instructor.batch_child", *argv],
                                        stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, cwd=work, env=_child_env(settings),
                                        start_new_session=True,
                                        preexec_fn=lambda: die_with_parent(parent))
    job.started = time.monotonic()


def _fork_children(settings: Settings) -> bool:
    """Children are forked from this process (which has the grader, pytest, NumPy and, when
    needed, PyTorch loaded: ``preload_for_children``) instead of started as new interpreters,
    which saves each submission an interpreter start and those imports. ``batch_fork = false``
    (``GRADER_BATCH_FORK=0``) starts them as ``python -m grader.instructor.batch_child``."""
    return hasattr(os, "fork") and settings.batch_fork


def preload_for_children(selected: Sequence[registry.ExerciseInfo], settings: Settings) -> None:
    """Import in the batch process what every forked child would import again, then take it
    out of the garbage collector's sight (``gc.freeze``): a child's collections then never walk
    those objects, and never write to their pages, which stay shared with this process."""
    if not _fork_children(settings):
        return
    if any(e.uses_torch for e in selected):
        import torch  # noqa: F401
    gc.freeze()


def _check(job: _Job, *, out: Path, ids: list[str], settings: Settings,
           progress: Progress) -> "bool | _Job":
    """False while the child runs; True when the submission is done; a follow-up job when its
    error must be recorded (past the time limit, or the grading process died)."""
    assert job.proc is not None
    elapsed = time.monotonic() - job.started
    code = job.proc.poll()
    limit = settings.limits.submission_timeout_s if job.fail_reason is None else FAIL_JOB_TIMEOUT_S
    if code is None and elapsed <= limit:
        return False
    if code is None:
        _kill(job.proc)
        if job.fail_reason is None:
            return _Job(job.entry, job.sha, job.submitted, PAST_LIMIT.format(limit=limit), elapsed)
    result = gradebook.read_result(out / "results" / f"{job.entry.name}.json")
    if code == 0 and result is not None and result.environment.get("submission_sha256") == job.sha:
        status, _ = gradebook.row_status(result)
        took = elapsed if job.fail_reason is None else job.elapsed
        progress.step(job.entry.name, f"{status} {result.score:g}/{result.max_score:g}"
                      f" in {took:.1f} s")
        return True
    why = _tail(job.log) or (f"exit status {code}" if code is not None else "no answer")
    if job.fail_reason is None:
        return _Job(job.entry, job.sha, job.submitted, CRASHED.format(why=why), elapsed)
    # Even recording the error failed (a broken grader install): write a bare result.
    bare = Submission(submission=job.entry.name, error=job.fail_reason,
                      exercises=[Exercise(e, registry.BY_ID[e].title, error=job.fail_reason)
                                 for e in ids],
                      environment={"submission_sha256": job.sha, "elapsed_s": round(job.elapsed, 3),
                                   "graded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    write_result(out, job.entry.name, bare)
    progress.step(job.entry.name, f"error ({job.fail_reason})")
    return True


def _tail(log: Path | None, lines: int = 1) -> str:
    try:
        text = log.read_text(errors="replace").strip() if log else ""
    except OSError:
        return ""
    return " ".join(text.splitlines()[-lines:])[-truncation.CHILD_LOG_CHARS:]


def _kill(proc: "subprocess.Popen | ForkedChild | None") -> None:
    if proc is not None and proc.poll() is None:
        kill_group(proc, wait_s=10)
