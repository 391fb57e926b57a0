"""What each command does, as keyword-only functions; ``cli.py`` only parses and calls these."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from . import report
from .results import Submission
from .session import grade_submission
from .settings import KIT_ROOT, Settings


class UsageError(ValueError):
    """A mistake in how the command was called: exit status 2."""


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically: readers see the old file or the new one, whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, allow_nan=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def grade(*, exercises: Sequence[str] = (), submission: Path | None = None,
          json_path: Path | None = None, settings: Settings, verbose: bool = False) -> int:
    """Grade one submission, print the report, optionally write the JSON document."""
    submission = Path(submission) if submission else KIT_ROOT / "exercises"
    if not submission.exists():
        raise UsageError(f"{submission} does not exist")
    result: Submission = grade_submission(submission=submission, exercises=exercises,
                                          settings=settings)
    report.print_report(result, verbose=verbose)
    if json_path is not None:
        write_json(json_path, result.to_dict())
        print(f"  JSON result written to {json_path}", file=sys.stdout)
    return 0 if result.all_passed else 1
