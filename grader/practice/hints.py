"""``make hint EX=...`` (``grader hint EXERCISE``): the next hint for the first check that does
not pass yet.

Hints are written by the suites' authors, in the check marker:
``@pytest.mark.check(points=1, hints=("a nudge", "a bigger nudge", ...))``, from the gentlest
to the most direct, never the solution itself. Which hints a learner has seen is kept per
check in ``.grader/hints.json`` in the kit (git-ignored): each call shows one more.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from grader import registry
from grader.engine.session import grade_submission
from grader.paths import EXERCISES_DIR, KIT_ROOT
from grader.results import Check, CheckStatus, Exercise
from grader.settings import Settings
from grader.truncation import HINT_FEEDBACK_LINES

STATE_PATH = KIT_ROOT / ".grader" / "hints.json"
ALL_PASS = "Every check of {id} passes: no hint needed."
FIRST_FAILING = "First check to fix: {check} [{status}]"
HINT = "Hint {k} of {n}: {text}"
MORE = "Run `make hint EX={id}` again for the next hint."
NO_HINTS = "This check has no hints; its feedback above and the docstring of {function} are the guide."
NO_MORE = "No hints left for {check}: you have seen all {n}. Re-read its feedback and the lesson."


def first_failing(ex: Exercise) -> Check | None:
    """The first check, in the suite's order, that neither passed nor was skipped."""
    return next((c for c in ex.checks
                 if c.status not in (CheckStatus.PASSED, CheckStatus.SKIPPED)), None)


def load_state(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, int)} \
        if isinstance(data, dict) else {}


def hint(*, exercise: str, settings: Settings, submission: Path | None = None,
         state_path: Path = STATE_PATH, stream: TextIO | None = None) -> int:
    from grader.files import write_json

    stream = stream or sys.stdout
    info = registry.select([exercise])[0]
    result = grade_submission(submission=submission or EXERCISES_DIR,
                              exercises=[info.id], settings=settings)
    ex = result.exercises[0]
    check = first_failing(ex)
    out = [f"{info.id}: {ex.score:g} / {ex.max_score_here:g} points"]
    if check is None:
        stream.write("\n".join(out + [ALL_PASS.format(id=info.id)]) + "\n")
        return 0
    out.append(FIRST_FAILING.format(check=check.id, status=check.status.value))
    out += [f"    {line}" for line in check.feedback.splitlines()[:HINT_FEEDBACK_LINES] if line.strip()]
    out.append("")
    state = load_state(state_path)
    key = f"{info.id}/{check.id}"
    seen = min(state.get(key, 0), len(check.hints))
    if not check.hints:
        out.append(NO_HINTS.format(function=check.function or "the function"))
    elif seen == len(check.hints):
        out += [HINT.format(k=k, n=len(check.hints), text=t) for k, t in enumerate(check.hints, 1)]
        out.append(NO_MORE.format(check=check.id, n=len(check.hints)))
    else:
        seen += 1
        out += [HINT.format(k=k, n=len(check.hints), text=t)
                for k, t in enumerate(check.hints[:seen], 1)]
        if seen < len(check.hints):
            out.append(MORE.format(id=info.id))
        state[key] = seen
        write_json(state_path, state)
    stream.write("\n".join(out) + "\n")
    return 0
