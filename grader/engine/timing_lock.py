"""One timing measurement at a time across every grading process of a batch.

A batch grades several submissions at once; a speed check that measures while its
neighbours hog the cores would compare a loaded learner run with an idle reference (or the
other way round). ``exclusive_timing()`` takes an exclusive ``flock`` on a lock file shared
by the whole batch, so measurements never overlap one another; correctness checks (which do
not measure) carry on meanwhile. The kernel drops the lock when its holder dies, even by
``kill -9``, so a crashed grader never leaves it stuck.

The batch names the lock file in its children's settings (``Settings.timing_lock``, also
``$GRADER_TIMING_LOCK``); a lone ``grader grade`` has none and the context manager does nothing.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

@contextmanager
def exclusive_timing(path: str | os.PathLike[str] | None) -> Iterator[float]:
    """Hold the batch-wide timing lock for the ``with`` block; yields the seconds spent waiting.

    With no ``path`` nothing is locked (0.0 waited). Not re-entrant: take it once around a
    whole measurement (learner and reference runs).
    """
    if not path:
        yield 0.0
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        start = time.monotonic()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield time.monotonic() - start
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
