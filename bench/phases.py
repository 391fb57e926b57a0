"""Where one whole-kit grade spends its time: run by ``bench/grading.py`` as a fresh process.

    python -m bench.phases SUBMISSION      # prints one JSON line

It grades ``SUBMISSION`` once, with timing, and adds up the time spent in a few public steps of
the grader: the bubblewrap probe (``launch.probe_sandbox``), starting a worker
(``WorkerProcess.__init__``) and waiting for it (``WorkerProcess.wait_ready``), importing the
learner's modules (``Learner.load``), the timing engine (``timing.measure``) and pytest. It
wraps those names for this one process; nothing of the grader changes.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from grader.engine import session, timing  # noqa: E402
from grader.isolation import launch  # noqa: E402
from grader.isolation.client import Learner  # noqa: E402
from grader.isolation.process import WorkerProcess  # noqa: E402
from grader.settings import Settings  # noqa: E402

IMPORTS_S = time.perf_counter() - START


class Stopwatch:
    """Seconds and calls per step, added up over the run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def wrap(self, owner: object, name: str, key: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - start
                self.counts[key] = self.counts.get(key, 0) + 1

        setattr(owner, name, timed)


class FirstTest:
    """A pytest plugin noting when the first test starts (the end of start-up and collection)."""

    def __init__(self) -> None:
        self.started: float | None = None

    def pytest_runtest_protocol(self, item, nextitem):
        if self.started is None:
            self.started = time.perf_counter()


def main(submission: Path) -> dict:
    watch = Stopwatch()
    watch.wrap(launch, "probe_sandbox", "bwrap_probe_s")
    watch.wrap(WorkerProcess, "__init__", "worker_spawn_s")
    watch.wrap(WorkerProcess, "wait_ready", "worker_wait_ready_s")
    watch.wrap(Learner, "load", "learner_module_imports_s")
    watch.wrap(timing, "measure", "timing_engine_s")
    watch.wrap(pytest, "main", "pytest_main_s")
    first, timed_main, pytest_started = FirstTest(), pytest.main, []

    def main_with_mark(args, plugins=()):
        pytest_started.append(time.perf_counter())
        return timed_main(args, plugins=[*plugins, first])

    pytest.main = main_with_mark
    start = time.perf_counter()
    result = session.grade_submission(submission=submission, settings=Settings(timing=True))
    seconds = {"grader_imports_s": IMPORTS_S, **watch.seconds,
               "grade_submission_s": time.perf_counter() - start,
               "pytest_start_and_collect_s": first.started - pytest_started[0],
               "process_total_s": time.perf_counter() - START}
    return {"seconds": seconds, "counts": watch.counts, "all_passed": result.all_passed}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
