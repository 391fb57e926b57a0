"""``grader watch [EXERCISE]``: re-grade on every save, like rustlings' watch mode.

It polls the modification times of ``exercises/<id>.py`` and ``notebooks/<id>.ipynb`` every
0.2 s (no new dependency, works on every file system) and grades the exercise whose file
changed, or only the one given. A saved notebook is graded as a notebook. On a terminal the
screen is cleared before each report. Ctrl-C stops it with exit status 0.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from grader import registry
from grader.engine.session import GraderError, grade_submission
from grader.paths import KIT_ROOT
from grader.report.terminal import print_report
from grader.settings import Settings

POLL_S = 0.2
CLEAR = "\033[2J\033[H"
HEADER = "grader watch: {id}, graded at {clock} ({why})"
WATCHING = "Watching {what} for changes; save a file to re-grade, Ctrl-C to stop."
STOPPED = "Stopped watching."
FAILED = "The grader could not run: {error}"


def watched(root: Path, ids: list[str]) -> dict[Path, int]:
    """The exercise files that exist now, with their modification times."""
    found = {}
    for ex_id in ids:
        for path in (root / "exercises" / f"{ex_id}.py", root / "notebooks" / f"{ex_id}.ipynb"):
            try:
                found[path] = path.stat().st_mtime_ns
            except OSError:
                pass
    return found


def watch(*, exercise: str | None = None, settings: Settings, root: Path = KIT_ROOT,
          stream: TextIO | None = None, poll_s: float = POLL_S) -> int:
    stream = stream or sys.stdout
    ids = [registry.select([exercise])[0].id] if exercise else [
        e.id for e in registry.EXERCISES if e.suite.exists()]
    seen = watched(root, ids)
    if not seen:
        stream.write(f"No exercise files to watch under {root}.\n")
        return 2
    path = max(seen, key=seen.get)              # the file worked on most recently
    why = "started"
    interrupted = False

    def on_interrupt(signum, frame):            # pytest swallows KeyboardInterrupt: remember it
        nonlocal interrupted
        interrupted = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        while not interrupted:
            _run(path, root, settings, stream, why)
            while not interrupted:
                time.sleep(poll_s)
                now = watched(root, ids)
                changed = [p for p in now if now[p] != seen.get(p)]
                if changed:
                    seen = now
                    path = max(changed, key=now.get)
                    why = f"{path.relative_to(root)} changed"
                    break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, previous)
    stream.write(f"\n{STOPPED}\n")
    stream.flush()
    return 0


def _run(path: Path, root: Path, settings: Settings, stream: TextIO, why: str) -> None:
    ex_id = path.stem
    if stream.isatty():
        stream.write(CLEAR)
    stream.write(HEADER.format(id=ex_id, clock=time.strftime("%H:%M:%S"), why=why) + "\n\n")
    stream.flush()
    submission = path if path.suffix == ".ipynb" else root / "exercises"
    try:
        result = grade_submission(submission=submission, exercises=[ex_id], settings=settings)
    except GraderError as exc:
        stream.write(FAILED.format(error=exc) + "\n")
    else:
        print_report(result, stream=stream,
                     notebook=str(path.relative_to(root)) if path.suffix == ".ipynb" else None)
    stream.write("\n" + WATCHING.format(what="exercises/ and notebooks/") + "\n")
    stream.flush()
