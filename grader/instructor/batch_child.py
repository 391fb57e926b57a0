"""One submission of a batch, graded in a child process of its own.

The batch forks the child (``ForkedChild``: the grader and its libraries are loaded already)
or starts ``python -m grader.instructor.batch_child ...``; either way ``child_main`` grades the
submission and writes its feedback and result (``write_result``), then the process ends.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from grader.engine.session import grade_submission
from grader.isolation.pool import Pool
from grader.files import write_json, write_text
from grader.isolation.launch import die_with_parent
from grader.report.markdown import markdown
from grader.results import Submission
from grader.settings import Settings


class ForkedChild:
    """A grading child made with ``os.fork``; what ``run_batch`` needs of a ``Popen``.

    The child gets what a started one would: its own session (so ``killpg`` ends it and its
    workers), death with the batch process, its log as stdout and stderr, its own working
    directory and environment. It runs ``child_main`` and leaves with ``os._exit``.
    """

    def __init__(self, argv: list[str], *, log: Path, cwd: Path, env: dict[str, str],
                 pool: Pool | None = None) -> None:
        parent = os.getpid()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        self.returncode: int | None = None
        self.pid = os.fork()
        if self.pid == 0:     # the child
            code = 1
            try:
                os.setsid()
                die_with_parent(parent)
                fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                os.close(fd)
                os.close(null)
                os.chdir(cwd)
                os.environ.clear()
                os.environ.update(env)
                code = child_main(argv, pool=pool)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        if pool is not None:      # the child holds the session now; this process lets go of it
            pool.detach()

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = 1
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"grading child {self.pid}", timeout)
            time.sleep(0.01)
        return self.returncode


def write_result(out: Path, name: str, result: Submission) -> None:
    """Feedback first, then the result: the result file's presence means 'this one is done'."""
    write_text(out / "feedback" / f"{name}.md", markdown(result))
    write_json(out / "results" / f"{name}.json", result.to_dict())




def child_main(argv: Sequence[str], pool: Pool | None = None) -> int:
    """Grade one submission; ``pool``: a session of the batch's worker pool, for a forked child."""
    p = argparse.ArgumentParser(prog="python -m grader.instructor.batch_child")
    p.add_argument("--submission", type=Path, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--sha", required=True)
    p.add_argument("--fingerprint", default="")
    p.add_argument("--file", default="")
    p.add_argument("--submitted-at", default="")
    p.add_argument("--submitted-from", default="")
    p.add_argument("--settings", required=True)
    p.add_argument("--exercises", nargs="+", required=True)
    p.add_argument("--fail-reason")
    p.add_argument("--elapsed", type=float, default=0.0)
    args = p.parse_args(argv)
    settings = Settings.from_dict(json.loads(args.settings))
    if "torch" in sys.modules:    # forked with PyTorch loaded: one thread per job, as the workers
        sys.modules["torch"].set_num_threads(max(1, settings.threads))
    start = time.monotonic()
    if args.fail_reason is None:
        result = grade_submission(submission=args.submission, exercises=args.exercises,
                                  settings=settings, name=args.name, pool=pool)
        elapsed = time.monotonic() - start
    else:
        # Grade nothing, but through the suites, so the error row carries the right max_score.
        with tempfile.TemporaryDirectory(prefix="grader-empty-") as empty:
            result = grade_submission(submission=Path(empty), exercises=args.exercises,
                                      settings=settings, name=args.name, pool=pool)
        result.mark_error(args.fail_reason)
        elapsed = args.elapsed
    result.environment.update(submission_sha256=args.sha, grader_fingerprint=args.fingerprint,
                              submission_file=args.file or args.submission.name,
                              submitted_at=args.submitted_at or None,
                              submitted_from=args.submitted_from or None,
                              graded_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                              elapsed_s=round(elapsed, 3))
    write_result(args.out, args.name, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(child_main(sys.argv[1:]))
